// Package sqlite is the standalone store: the data model of storage kept in one SQLite file
// (pure Go, modernc.org/sqlite), for webhookd running without MongoDB. It behaves like
// storage/mongo; both pass storage/storagetest.
//
// The file is opened in WAL mode with two pools: one connection for every write, so writers
// queue in Go instead of spinning on SQLITE_BUSY and a transaction that reads before it writes
// cannot lose its snapshot, and a few read-only connections that WAL lets run beside the writer.
// A webhook request is a row of columns, its request and response flattened into them; only its
// header maps and fields set are JSON, as are whole definitions and rules. Times are Unix
// milliseconds in UTC, the precision of BSON dates, so both stores return the same times.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/webhookd/webhookd/secrets"

	// The pure-Go driver, registered as "sqlite".
	_ "modernc.org/sqlite"
)

// busyTimeout bounds how long a connection waits for another process's lock (a backup tool, the
// sqlite3 shell) before failing; within webhookd writes never contend, they share one connection.
const busyTimeout = 10 * time.Second

// Store is the SQLite store. It is safe for concurrent use.
type Store struct {
	path string
	w    *sql.DB // exactly one connection: all writes
	r    *sql.DB // read-only connections
	ws   *stmtCache
	rs   *stmtCache
	keys *secrets.Keyring // seals definitions' secrets (storage.SealDefinition)
	now  func() time.Time
}

// Open opens (creating if needed) the database file at path, brings its schema up to date and
// returns the store, which seals definitions' secrets with keys (--secrets-key-file). Close it
// when done.
func Open(ctx context.Context, path string, keys *secrets.Keyring) (*Store, error) {
	if keys == nil {
		return nil, fmt.Errorf("open sqlite store %q: no secrets keyring: definitions' secrets are kept encrypted", path)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		// Two pools on one in-memory database would be two databases, and a URI would carry
		// connection parameters of its own.
		return nil, fmt.Errorf("open sqlite store %q: want the path of a database file", path)
	}
	if _, err := os.Stat(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("open sqlite store %q: its directory: %w", path, err)
	}
	if strings.ContainsRune(path, '?') {
		// The driver would read everything after '?' as connection parameters.
		return nil, fmt.Errorf("open sqlite store %q: the path must not contain '?'", path)
	}
	if err := makePrivate(path); err != nil {
		return nil, err
	}
	common := url.Values{}
	common.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	// NORMAL in WAL mode survives a crash of the process (kill -9) and only risks the last
	// transactions on a power loss, for a fraction of the cost of an fsync per commit.
	common.Add("_pragma", "synchronous(NORMAL)")

	wq := url.Values{}
	for k, v := range common {
		wq[k] = append([]string(nil), v...)
	}
	wq.Add("_pragma", "journal_mode(WAL)")
	// A checkpoint copies each page the WAL holds once, however many commits rewrote it. Under
	// load every batch dirties pages all over the hashed and random-keyed indexes (webhook_id,
	// event_id, entity_id); at SQLite's default of 1,000 pages (4 MB) most of them were copied
	// again at every checkpoint. 10,000 pages (40 MB of WAL at most) cut the writer's CPU by about
	// a fifth on BenchmarkInsertRequestsRandomKeys.
	wq.Add("_pragma", "wal_autocheckpoint(10000)")
	// Every write transaction takes the write lock at BEGIN: with one writer connection it costs
	// nothing, and it keeps a read-then-write transaction from failing with SQLITE_BUSY_SNAPSHOT if
	// another process writes.
	wq.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite", path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %q: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	s := &Store{path: path, w: w, ws: newStmtCache(w), keys: keys, now: time.Now}
	if err := s.migrate(ctx); err != nil {
		_ = w.Close()
		return nil, err
	}

	if err := s.ws.prepare(ctx, insertRequestSQL, insertInvalidEventSQL); err != nil {
		_ = s.ws.close()
		_ = w.Close()
		return nil, fmt.Errorf("open sqlite store %q: %w", path, err)
	}

	// Readers are opened after the writer has switched the file to WAL (a persistent setting).
	rq := url.Values{}
	for k, v := range common {
		rq[k] = append([]string(nil), v...)
	}
	rq.Add("_pragma", "query_only(1)")
	r, err := sql.Open("sqlite", path+"?"+rq.Encode())
	if err != nil {
		_ = s.ws.close()
		_ = w.Close()
		return nil, fmt.Errorf("open sqlite store %q for reading: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(5 * time.Minute)
	s.r, s.rs = r, newStmtCache(r)
	if err := s.Ping(ctx); err != nil {
		_ = s.Close(ctx)
		return nil, err
	}
	return s, nil
}

// FileMode is the mode of the database file and of SQLite's files beside it (-wal, -shm,
// -journal): readable by webhookd's user alone, since they hold definitions and webhook requests.
const FileMode os.FileMode = 0o600

// sideFiles are the suffixes of the files SQLite keeps beside the database.
var sideFiles = []string{"-wal", "-shm", "-journal"}

// makePrivate creates the database file with FileMode if it does not exist, and gives it and the
// side files that exist FileMode whatever they had (a file an older webhookd left 0644). SQLite
// creates its side files with the database file's mode, so they are private from then on.
func makePrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, FileMode)
	if err != nil {
		return fmt.Errorf("open sqlite store %q: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("open sqlite store %q: %w", path, err)
	}
	for _, p := range append([]string{path}, suffixed(path)...) {
		if err := os.Chmod(p, FileMode); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("open sqlite store %q: make %s private: %w", path, p, err)
		}
	}
	return nil
}

func suffixed(path string) []string {
	out := make([]string, len(sideFiles))
	for i, s := range sideFiles {
		out[i] = path + s
	}
	return out
}

// Ping checks that both pools can reach the database.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite store %q: %w", s.path, err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite store %q for reading: %w", s.path, err)
	}
	return nil
}

// Close lets SQLite refresh its query planner statistics, then closes the database. The context
// is not used: closing a file does not block on anything it could cancel.
func (s *Store) Close(_ context.Context) error {
	var errs []error
	if s.r != nil {
		if err := s.rs.close(); err != nil {
			errs = append(errs, err)
		}
		if err := s.r.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	// Cheap (it only analyses what changed a lot) and keeps index choices good as tables grow.
	_, _ = s.w.Exec("PRAGMA optimize")
	if err := s.ws.close(); err != nil {
		errs = append(errs, err)
	}
	if err := s.w.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close sqlite store %q: %w", s.path, err)
	}
	return nil
}

// inTx runs fn in a write transaction and commits it if fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// ms is how times are stored: Unix milliseconds, the precision of a BSON date.
func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// norm gives a time the precision and zone it will have when read back.
func norm(t time.Time) time.Time { return fromMS(ms(t)) }
