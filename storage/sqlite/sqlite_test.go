package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/webhookd/webhookd/control"
	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/pipeline"
	"github.com/webhookd/webhookd/secrets"
	"github.com/webhookd/webhookd/storage/sqlite"
	"github.com/webhookd/webhookd/storage/storagetest"
)

// Each store is what its users declare they need: the pipeline, the control plane and
// the conformance suite (worker/store.go asserts it too, for the process).
var (
	_ storagetest.Store = (*sqlite.Store)(nil)
	_ pipeline.Store    = (*sqlite.Store)(nil)
	_ control.Store     = (*sqlite.Store)(nil)
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t testing.TB, path string, keys *secrets.Keyring) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path, keys)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	var mu sync.Mutex
	paths := map[*testing.T]string{} // one database per subtest, however often it is opened
	storagetest.Run(t, func(t *testing.T, keys *secrets.Keyring) storagetest.Store {
		mu.Lock()
		p, ok := paths[t]
		if !ok {
			p = filepath.Join(t.TempDir(), "webhookd.db")
			paths[t] = p
		}
		mu.Unlock()
		return open(t, p, keys)
	})
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "webhookd.db")
	ctx := t.Context()
	s, err := sqlite.Open(ctx, path, testutil.Keyring(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	first, err := s.ReserveNumbers(ctx, 10)
	if err != nil {
		t.Fatalf("ReserveNumbers: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = open(t, path, testutil.Keyring(t)) // the schema exists: opening again changes nothing
	next, err := s.ReserveNumbers(ctx, 1)
	if err != nil {
		t.Fatalf("ReserveNumbers: %v", err)
	}
	if next != first+10 {
		t.Errorf("after reopening, ReserveNumbers = %d, want %d", next, first+10)
	}
}

func TestWALMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "webhookd.db")
	open(t, path, testutil.Keyring(t))
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRowContext(t.Context(), `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatalf("journal_mode: %v", err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "webhookd.db")
	ctx := t.Context()
	s, err := sqlite.Open(ctx, path, testutil.Keyring(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE schema_version SET version = version + 1`); err != nil {
		t.Fatalf("bump schema_version: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	s, err = sqlite.Open(ctx, path, testutil.Keyring(t))
	if err == nil {
		_ = s.Close(ctx)
		t.Fatal("Open of a database from a newer build: no error")
	}
	if !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open error %q does not say the schema is newer", err)
	}
}

func TestOpenRefusesBadPaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db", filepath.Join(t.TempDir(), "a?b.db"), filepath.Join(t.TempDir(), "missing", "dir", "x.db")} {
		s, err := sqlite.Open(t.Context(), p, testutil.Keyring(t))
		if err == nil {
			_ = s.Close(t.Context())
			t.Errorf("Open(%q): no error", p)
		}
	}
}
