// Package datadir guards standalone mode's data directory. The embedded NATS server assumes it
// is the only writer of its files: two processes on one directory corrupt JetStream's message
// blocks and lose events. So a process that embeds the server holds the directory alone, with
// an exclusive lock (flock) that the kernel releases when the process dies: a kill -9 never
// leaves a stale lock behind. (The SQLite store locks its own file, so replicas on one machine
// that share it through an external NATS need no lock of ours.)
package datadir

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/gofrs/flock"
)

// LockFile is the name of the lock file inside the data directory. It holds the pid of the
// process that has the lock, so a second process can say who is in the way.
const LockFile = "LOCK"

// InUseError says that another process holds the data directory.
type InUseError struct {
	Dir string
	PID int // 0 when the holder did not say
}

func (e *InUseError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = "process " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("data directory %s is in use by %s (one webhookd per data directory)", e.Dir, who)
}

// Lock is a held data directory.
type Lock struct {
	fl *flock.Flock
}

// Prepare creates dir if needed and makes it private to this user (0700, also when it
// exists: it holds the store and the keys). It returns the directory's absolute path.
func Prepare(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("data directory %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", fmt.Errorf("create data directory %s: %w", abs, err)
	}
	if err := os.Chmod(abs, 0o700); err != nil {
		return "", fmt.Errorf("make data directory %s private: %w", abs, err)
	}
	return abs, nil
}

// Acquire prepares dir and locks it. It never waits: a directory held by another process is
// an *InUseError at once.
func Acquire(dir string) (*Lock, error) {
	abs, err := Prepare(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(abs, LockFile)
	fl := flock.New(path, flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock data directory %s: %w", abs, err)
	}
	if !ok {
		return nil, &InUseError{Dir: abs, PID: holder(path)}
	}
	// Only the holder writes the file, and only now; a reader may see it empty for a moment,
	// which InUseError reports as "another process". A lock file left 0644 is made 0600 too.
	if err := os.Chmod(path, 0o600); err != nil {
		_ = fl.Unlock()
		return nil, fmt.Errorf("make %s private: %w", path, err)
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		_ = fl.Unlock()
		return nil, fmt.Errorf("write %s: %w", path, err)
	}
	return &Lock{fl: fl}, nil
}

// Release lets the directory go. The file stays: removing it would let a third process lock a
// new file while a second still holds the old one.
func (l *Lock) Release() error {
	if l == nil {
		return nil
	}
	if err := l.fl.Unlock(); err != nil {
		return fmt.Errorf("unlock data directory: %w", err)
	}
	return nil
}

// holder reads the pid the lock's holder wrote, or 0.
func holder(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
