package sqlite_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/storage/sqlite"
	"github.com/webhookd/webhookd/storage/storagetest"
)

// modes returns the permission bits of the database file and the side files that exist.
func modes(t *testing.T, path string) map[string]os.FileMode {
	t.Helper()
	out := map[string]os.FileMode{}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		fi, err := os.Stat(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = fi.Mode().Perm()
	}
	return out
}

func writeOne(t *testing.T, s *sqlite.Store) {
	t.Helper()
	now := time.Now().UTC()
	wr := &storage.WebhookRequest{Number: storage.FormatNumber(1), Seq: 1, WebhookID: "msg_1", State: storage.StateSuccessful,
		Entity: "customer", EntityID: "C-1", EventID: "e1", URL: "https://h.example/",
		Request: storage.RequestInfo{Method: "POST", Headers: map[string]string{}, SentAt: now},
		Log:     storage.Log{CreatedAt: now, CreatedBy: storage.SystemUser, UpdatedAt: now, UpdatedBy: storage.SystemUser}}
	if _, err := s.InsertRequests(t.Context(), []*storage.WebhookRequest{wr}); err != nil {
		t.Fatal(err)
	}
}

// The database file and its -wal and -shm files are 0600, whatever the umask: new ones, and
// ones an older webhookd left 0644.
func TestFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o022) // the usual umask, which gives SQLite's own default 0644
	t.Cleanup(func() { syscall.Umask(old) })

	t.Run("new", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "webhookd.db")
		s := open(t, path, storagetest.Keyring(t))
		writeOne(t, s)
		wantPrivate(t, path, "")
	})

	t.Run("existing", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "webhookd.db")
		first := open(t, path, storagetest.Keyring(t))
		writeOne(t, first)
		// As an older webhookd left them, while it still has them open.
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.Chmod(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		open(t, path, storagetest.Keyring(t))
		wantPrivate(t, path, " after reopening")
	})

	t.Run("empty file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "webhookd.db")
		if err := os.WriteFile(path, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		open(t, path, storagetest.Keyring(t))
		if m := modes(t, path); m["webhookd.db"] != 0o600 {
			t.Errorf("modes = %v", m)
		}
	})
}

// wantPrivate checks that the database, its -wal and its -shm are there, each with mode 0600;
// when says at what point, in a failure's message.
func wantPrivate(t *testing.T, path, when string) {
	t.Helper()
	m := modes(t, path)
	if len(m) < 3 {
		t.Fatalf("files = %v, want the database, -wal and -shm", m)
	}
	for name, mode := range m {
		if mode != 0o600 {
			t.Errorf("%s has mode %o%s, want 600", name, mode, when)
		}
	}
}
