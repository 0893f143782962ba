// Package testutil holds small helpers shared by the tests of several packages.
package testutil

import (
	"bytes"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/webhookd/webhookd/secrets"
)

// pollEvery is how often Eventually checks its condition: short next to any deadline a test
// sets, long enough that a condition that queries a store or a server does not load the machine.
const pollEvery = 10 * time.Millisecond

// Eventually checks cond until it holds, and fails the test (naming what it waited for) if it
// still does not hold within the given duration. Tests wait on a condition like this instead of
// sleeping. It must be called from the test's goroutine, as t.Fatalf must.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		<-tick.C
	}
}

// LogBuffer is a log sink that a worker's goroutines may write while the test reads it.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Keyring returns a keyring of one new random key, for a store opened in a test.
func Keyring(t testing.TB) *secrets.Keyring {
	t.Helper()
	line, err := secrets.NewKeyLine("test")
	if err != nil {
		t.Fatal(err)
	}
	k, err := secrets.Parse([]byte(line), "test key")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// KeyFile writes a secrets key file of one new key in dir and returns its path, for a worker
// (--secrets-key-file) and the stores a test opens beside it.
func KeyFile(t testing.TB, dir string) string {
	t.Helper()
	line, err := secrets.NewKeyLine("")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "test-secrets.key")
	if err := secrets.CreateFile(path, []byte(line)); err != nil {
		t.Fatal(err)
	}
	return path
}

// LoadKeyFile reads a key file, failing the test if it cannot.
func LoadKeyFile(t testing.TB, path string) *secrets.Keyring {
	t.Helper()
	k, err := secrets.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
