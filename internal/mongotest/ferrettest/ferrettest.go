// Package ferrettest gives tests a MongoDB-compatible server: an in-process FerretDB (SQLite
// backend, state under t.TempDir()) by default, or a real MongoDB named by the environment
// variable WEBHOOKD_TEST_MONGO_URI. Each test gets its own database, so tests never see each
// other's data.
//
// FerretDB covers the driver's wire protocol but not all of MongoDB's guarantees: its
// findAndModify is a read-then-write (not atomic under concurrency), it has no TTL indexes and it
// scans whole collections. Tests that depend on those guarantees run only against real MongoDB,
// and tests run on FerretDB keep their data small.
package ferrettest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// EnvMongoURI names the environment variable that points tests at a real MongoDB.
const EnvMongoURI = "WEBHOOKD_TEST_MONGO_URI"

// newMu serialises ferretdb.New: it writes a package-level variable of FerretDB's (the version's
// package name), which would be a data race between tests starting servers in parallel.
var newMu sync.Mutex

// URI starts an in-process FerretDB listening on a free loopback port and returns its MongoDB
// URI. The server stops, and its files are removed, when the test ends.
func URI(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	logger := newTestLogger(t)

	newMu.Lock()
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Logger:    slog.New(logger),
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
	})
	newMu.Unlock()
	if err != nil {
		t.Fatalf("ferrettest: start FerretDB in %s: %v", dir, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Run only returns nil; it closes the listener, every connection and the backend.
		_ = f.Run(ctx)
	}()
	// Cleanups run last-in first-out: this one runs before t.TempDir removes the files, and after
	// the cleanups of clients the test opens later, so FerretDB sees them disconnect and does not
	// wait out its grace period for connected clients.
	t.Cleanup(func() {
		cancel()
		<-done
		logger.stop()
	})
	return f.MongoDBURI()
}

// RealMongoURI returns the URI of the real MongoDB given in WEBHOOKD_TEST_MONGO_URI, if any.
func RealMongoURI() (string, bool) {
	uri := strings.TrimSpace(os.Getenv(EnvMongoURI))
	return uri, uri != ""
}

// MongoURI prefers the real MongoDB of WEBHOOKD_TEST_MONGO_URI and otherwise starts FerretDB
// (see URI). Use Database for a database of the test's own on it.
func MongoURI(t testing.TB) string {
	t.Helper()
	if uri, ok := RealMongoURI(); ok {
		return uri
	}
	return URI(t)
}

// DatabaseName returns a fresh random database name, valid on MongoDB and FerretDB.
func DatabaseName(t testing.TB) string {
	t.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("ferrettest: random database name: %v", err)
	}
	return "webhookd_test_" + hex.EncodeToString(b[:])
}

// Database returns a fresh database name on the server at uri and drops that database when the
// test ends, so a shared MongoDB does not fill up with test data. Register it after the server
// (URI) and before the clients that use the database, so it runs after they close.
func Database(t testing.TB, uri string) string {
	t.Helper()
	name := DatabaseName(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		client, err := mongo.Connect(options.Client().ApplyURI(uri))
		if err != nil {
			t.Errorf("ferrettest: connect to drop database %s: %v", name, err)
			return
		}
		defer func() { _ = client.Disconnect(ctx) }()
		if err := client.Database(name).Drop(ctx); err != nil {
			t.Errorf("ferrettest: drop database %s: %v", name, err)
		}
	})
	return name
}

// testLogger passes FerretDB's errors to t.Log and drops the rest: its warnings include a dump
// of every command it does not know (the driver's endSessions among them), which is only noise.
// After stop it drops everything, because logging through t after the test has ended panics.
type testLogger struct {
	shared *loggerState
	attrs  []slog.Attr
	group  string
}

type loggerState struct {
	mu      sync.Mutex
	t       testing.TB
	stopped bool
}

func newTestLogger(t testing.TB) *testLogger {
	return &testLogger{shared: &loggerState{t: t}}
}

func (l *testLogger) stop() {
	l.shared.mu.Lock()
	l.shared.stopped = true
	l.shared.mu.Unlock()
}

func (l *testLogger) Enabled(_ context.Context, level slog.Level) bool {
	return level >= slog.LevelError
}

func (l *testLogger) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "ferretdb %s: %s", r.Level, r.Message)
	for _, a := range l.attrs {
		fmt.Fprintf(&b, " %s", a)
	}
	r.Attrs(func(a slog.Attr) bool {
		if l.group != "" {
			a.Key = l.group + "." + a.Key
		}
		fmt.Fprintf(&b, " %s", a)
		return true
	})
	l.shared.mu.Lock()
	defer l.shared.mu.Unlock()
	if !l.shared.stopped {
		l.shared.t.Log(b.String())
	}
	return nil
}

func (l *testLogger) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *l
	c.attrs = append(append([]slog.Attr(nil), l.attrs...), attrs...)
	return &c
}

func (l *testLogger) WithGroup(name string) slog.Handler {
	c := *l
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}
