package secrets

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxKeyFileSize bounds a key file: a few hundred keys, far more than a rotation needs.
const MaxKeyFileSize = 64 << 10

// FileMode is the mode of the key files this package creates.
const FileMode fs.FileMode = 0o600

// Parse reads a key file's contents; name (the file's path) is only used in errors, each of
// which names the line. Every line is a key, "<key id> <base64 of 32 bytes>", a comment
// (starting with "#", also after a key) or blank. The first key seals.
func Parse(b []byte, name string) (*Keyring, error) {
	if len(b) > MaxKeyFileSize {
		return nil, fmt.Errorf("%w: %s is %d bytes, at most %d are allowed", ErrInvalidKeyFile, name, len(b), MaxKeyFileSize)
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: %s is not UTF-8 text", ErrInvalidKeyFile, name)
	}
	var keys []Key
	firstLine := map[string]int{}
	for i, line := range strings.Split(string(b), "\n") {
		n := i + 1
		fail := func(format string, args ...any) error {
			return fmt.Errorf("%w: %s line %d: %s", ErrInvalidKeyFile, name, n, fmt.Sprintf(format, args...))
		}
		if c := strings.IndexByte(line, '#'); c >= 0 {
			line = line[:c]
		}
		fields := strings.Fields(line)
		switch len(fields) {
		case 0:
			continue
		case 2:
		default:
			return nil, fail("want \"<key id> <base64 of %d random bytes>\", found %d fields", KeySize, len(fields))
		}
		id, enc := fields[0], fields[1]
		if msg := CheckKeyID(id); msg != "" {
			return nil, fail("the key id %s", msg)
		}
		if first, dup := firstLine[id]; dup {
			return nil, fail("key id %q is already listed on line %d", id, first)
		}
		// Never quote enc: it is key material, even when malformed.
		secret, err := base64.StdEncoding.Strict().DecodeString(enc)
		if err != nil {
			return nil, fail("key %q is not standard padded base64", id)
		}
		if len(secret) != KeySize {
			return nil, fail("key %q decodes to %d bytes, want %d", id, len(secret), KeySize)
		}
		firstLine[id] = n
		keys = append(keys, Key{ID: id, Secret: secret})
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: %s lists no key (want lines of \"<key id> <base64 of %d random bytes>\"; make one with `webhookctl secret keygen`)", ErrInvalidKeyFile, name, KeySize)
	}
	return New(keys...)
}

// LoadFile reads and parses the key file at path.
func LoadFile(path string) (*Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("secrets key file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read secrets key file %s: %w", path, err)
	}
	return Parse(b, path)
}

// LoadOrCreate loads the key file at path, or, when there is none, creates it (mode 0600) with
// one new key and reports created. Two processes doing so at once end up with the same file.
func LoadOrCreate(path string) (k *Keyring, created bool, err error) {
	k, err = LoadFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	line, err := NewKeyLine("")
	if err != nil {
		return nil, false, err
	}
	content := "# webhookd secrets key file (--secrets-key-file): the first key encrypts, every key decrypts.\n" +
		"# Keep a copy: without it the secret keys in the store cannot be read.\n" + line
	switch err := CreateFile(path, []byte(content)); {
	case errors.Is(err, fs.ErrExist):
		// Another process created it first: use its key.
		k, err := LoadFile(path)
		return k, false, err
	case err != nil:
		return nil, false, err
	}
	k, err = LoadFile(path)
	return k, err == nil, err
}

// CreateFile writes a new file at path with mode 0600, whole or not at all: it is written to a
// temporary file beside it, synced, then linked into place, which fails with fs.ErrExist when
// path exists (it is never overwritten).
func CreateFile(path string, content []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("create secrets key file %s: %w", path, err)
	}
	defer func() {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}()
	if err := tmp.Chmod(FileMode); err != nil {
		return fmt.Errorf("create secrets key file %s: %w", path, err)
	}
	if _, err := tmp.Write(content); err != nil {
		return fmt.Errorf("write secrets key file %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write secrets key file %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("create secrets key file %s: it exists (never overwritten): %w", path, fs.ErrExist)
		}
		return fmt.Errorf("create secrets key file %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // the new name survives a power loss
		_ = d.Close()
	}
	return nil
}

// NewKeyLine returns a key file line, newline included, with a new random key under id; an
// empty id takes NewKeyID.
func NewKeyLine(id string) (string, error) {
	if id == "" {
		var err error
		if id, err = NewKeyID(time.Now()); err != nil {
			return "", err
		}
	}
	if msg := CheckKeyID(id); msg != "" {
		return "", fmt.Errorf("key id %q %s", id, msg)
	}
	secret := make([]byte, KeySize)
	if _, err := rand.Read(secret); err != nil {
		return "", fmt.Errorf("generate a secrets key: %w", err)
	}
	return id + " " + base64.StdEncoding.EncodeToString(secret) + "\n", nil
}

// NewKeyID returns a key id that says when the key was made and is unlikely to collide with
// another made the same day: k20250314-3fa2c1.
func NewKeyID(now time.Time) (string, error) {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate a key id: %w", err)
	}
	return "k" + now.UTC().Format("20060102") + "-" + hex.EncodeToString(b[:]), nil
}

// LooseMode returns the permissions of the file at path and reports whether users other than
// its owner and its group may use it, which deserves a warning: a key file is 0600 (or, mounted
// from a Kubernetes Secret with an fsGroup, readable by that group).
func LooseMode(path string) (fs.FileMode, bool) {
	info, err := os.Stat(path)
	if err != nil {
		return 0, false
	}
	m := info.Mode().Perm()
	return m, m&0o007 != 0
}
