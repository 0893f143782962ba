package datadir_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/webhookd/webhookd/internal/datadir"
)

func TestSecondHolderIsRefusedAndToldWho(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	first, err := datadir.Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	// flock conflicts between open files, so a second Acquire in this process stands in for
	// a second webhookd (cmd/webhookd's tests try two real processes).
	_, err = datadir.Acquire(dir)
	var inUse *datadir.InUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("second Acquire: err = %v, want an InUseError", err)
	}
	abs, _ := filepath.Abs(dir)
	if inUse.PID != os.Getpid() || inUse.Dir != abs {
		t.Errorf("InUseError = %+v, want dir %s and pid %d", inUse, abs, os.Getpid())
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	again, err := datadir.Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	if err := again.Release(); err != nil {
		t.Fatal(err)
	}
}

func TestExistingDirectoryIsMadePrivate(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A lock file an older webhookd left readable.
	if err := os.WriteFile(filepath.Join(dir, datadir.LockFile), []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := datadir.Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Release() }()
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, datadir.LockFile): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %o, want %o", path, got, want)
		}
	}
}
