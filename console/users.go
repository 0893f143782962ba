package console

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	htpasswd "github.com/tg123/go-htpasswd"
	"golang.org/x/crypto/bcrypt"
)

// Users are the console's users: the names and bcrypt hashes of an htpasswd file, re-read when
// the file changes (a stat at each sign-in and each signed-in request tells), or a fixed table.
type Users struct {
	path string // empty: a fixed table
	log  *slog.Logger

	mu      sync.Mutex
	file    *htpasswd.File
	stat    fs.FileInfo
	lastErr string // the last failure to read, logged once
}

// AdminPasswordFile is the file, in the data directory, of the generated admin's password.
const AdminPasswordFile = "console-admin-password"

// AdminUser is the user created when there is no users file.
const AdminUser = "admin"

// OpenUsersFile reads an htpasswd file of bcrypt entries (name:$2y$…, one a line). A file that
// cannot be read, or that has no bcrypt entry at all, is an error; a line that is not such an
// entry is left out and counted in the log (without its content: it may hold a hash).
func OpenUsersFile(path string, log *slog.Logger) (*Users, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u := &Users{path: path, log: log}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	f, n, bad, err := readUsers(path)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("%s has no bcrypt entries (name:$2y$…, made with htpasswd -B)", path)
	}
	if bad > 0 {
		log.Warn("console users file: lines that are not name:bcrypt-hash are ignored", "file", path, "ignored", bad)
	}
	u.file, u.stat = f, fi
	return u, nil
}

// readUsers parses the file, counting its users and the lines left out.
func readUsers(path string) (f *htpasswd.File, users, bad int, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, 0, err
	}
	f, err = htpasswd.NewFromReader(bytes.NewReader(b), []htpasswd.PasswdParser{htpasswd.AcceptBcrypt},
		func(error) { bad++ })
	if err != nil {
		return nil, 0, 0, fmt.Errorf("read %s: %w", path, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if name, _, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && f.Exists(name) {
			users++
		}
	}
	return f, users, bad, nil
}

// FixedUsers is a table of names and bcrypt hashes that never changes.
func FixedUsers(hashes map[string]string) (*Users, error) {
	var b strings.Builder
	for name, h := range hashes {
		if strings.ContainsAny(name, ":\n") || name == "" {
			return nil, fmt.Errorf("user name %q: must be non-empty, without a colon", name)
		}
		fmt.Fprintf(&b, "%s:%s\n", name, h)
	}
	var bad int
	f, err := htpasswd.NewFromReader(strings.NewReader(b.String()), []htpasswd.PasswdParser{htpasswd.AcceptBcrypt}, func(error) { bad++ })
	if err != nil {
		return nil, err
	}
	if bad > 0 {
		return nil, errors.New("a user's password hash is not a bcrypt hash")
	}
	return &Users{file: f, log: slog.New(slog.DiscardHandler)}, nil
}

// current re-reads the file when it changed since it was last read, and returns the table in
// force. A file that cannot be read keeps the last table.
func (u *Users) current() *htpasswd.File {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.path == "" {
		return u.file
	}
	fi, err := os.Stat(u.path)
	if err != nil {
		return u.keep(err)
	}
	if u.stat != nil && os.SameFile(fi, u.stat) && fi.ModTime().Equal(u.stat.ModTime()) && fi.Size() == u.stat.Size() {
		return u.file
	}
	f, n, bad, err := readUsers(u.path)
	if err != nil {
		return u.keep(err)
	}
	u.file, u.stat, u.lastErr = f, fi, ""
	u.log.Info("console users file re-read", "file", u.path, "users", n, "ignored", bad)
	return u.file
}

// keep keeps the users read last when the file cannot be read, and says so once.
func (u *Users) keep(err error) *htpasswd.File {
	if err.Error() != u.lastErr {
		u.lastErr = err.Error()
		u.log.Warn("console users file unreadable: the users read last stay in force", "file", u.path, "error", err)
	}
	return u.file
}

// htpasswdCost is the bcrypt cost of htpasswd -B's entries by default. The generated admin's
// hash has it too: that hash lives only in memory, and its password (130 random bits, in a file
// of the data directory) needs no slow hash to resist guessing.
const htpasswdCost = 5

// dummyHash is compared against when the user is unknown, so that an unknown name costs as
// much time as a wrong password and the answer's timing does not tell which names exist.
var dummyHash = sync.OnceValue(func() []byte {
	h, err := bcrypt.GenerateFromPassword([]byte("not a password of anyone"), htpasswdCost)
	if err != nil {
		panic(err)
	}
	return h
})

// Check reports whether name and password are a user's.
func (u *Users) Check(name, password string) bool {
	f := u.current()
	if f.Exists(name) {
		return f.Match(name, password)
	}
	_ = bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
	return false
}

// Exists reports whether name is a user (a signed-in user removed from the file is signed out).
func (u *Users) Exists(name string) bool { return u.current().Exists(name) }

// GeneratedAdmin returns the users of a console without a users file: the user admin, whose
// password is in dataDir/console-admin-password. At the first start the file does not exist: a
// random password is made and written to it (mode 0600). The password itself is never logged.
func GeneratedAdmin(dataDir string) (users *Users, passwordFile string, created bool, err error) {
	path := filepath.Join(dataDir, AdminPasswordFile)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Written whole under another name, then linked into place, which fails if another
		// process (a replica on the same data directory) was first: then its password holds.
		pw := rand.Text() // 26 characters of base32: 130 bits
		switch werr := writeNew(path, pw+"\n"); {
		case werr == nil:
			b, created = []byte(pw), true
		case errors.Is(werr, fs.ErrExist):
			if b, err = os.ReadFile(path); err != nil {
				return nil, path, false, fmt.Errorf("read %s: %w", path, err)
			}
		default:
			return nil, path, false, werr
		}
	case err != nil:
		return nil, path, false, fmt.Errorf("read %s: %w", path, err)
	}
	pw := strings.TrimSpace(string(b))
	if pw == "" {
		return nil, path, false, fmt.Errorf("%s is empty: delete it, and a new password is made at the next start", path)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), htpasswdCost)
	if err != nil {
		return nil, path, false, fmt.Errorf("hash the password of %s: %w", path, err)
	}
	users, err = FixedUsers(map[string]string{AdminUser: string(h)})
	return users, path, created, err
}

// writeNew writes a new file of mode 0600 whole, or fails with fs.ErrExist if path exists.
func writeNew(path, content string) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.WriteString(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return err
		}
		return fmt.Errorf("create %s: %w", path, err)
	}
	return nil
}
