package secrets_test

import (
	"encoding/base64"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webhookd/webhookd/secrets"
)

// Two fixed keys; their base64 must never appear in an error.
var (
	keyA = strings.Repeat("A", 43) + "="
	keyB = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
)

func mustParse(t *testing.T, s string) *secrets.Keyring {
	t.Helper()
	k, err := secrets.Parse([]byte(s), "keys")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return k
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		ids        []string
	}{
		{"one key", "k1 " + keyA + "\n", []string{"k1"}},
		{"no final newline", "k1 " + keyA, []string{"k1"}},
		{"comments, blank lines, tabs, CRLF", "# keys\n\n\tnew.2025-03_x\t" + keyB + "  # added today\r\nold " + keyA + "\r\n", []string{"new.2025-03_x", "old"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := mustParse(t, tc.file)
			if got := strings.Join(k.IDs(), ","); got != strings.Join(tc.ids, ",") {
				t.Errorf("IDs = %s, want %v", got, tc.ids)
			}
			if k.Primary() != tc.ids[0] {
				t.Errorf("Primary = %s, want %s", k.Primary(), tc.ids[0])
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	for _, tc := range []struct {
		name, file, want string
	}{
		{"empty", "", "lists no key"},
		{"comments only", "# nothing\n\n", "lists no key"},
		{"one field", "# header\nk1\n", "keys line 2: want \"<key id> <base64 of 32 random bytes>\", found 1 fields"},
		{"three fields", "k1 " + keyA + " extra\n", "keys line 1: want"},
		{"bad id", "-k " + keyA + "\n", "keys line 1: the key id must be letters"},
		{"id with colon", "a:b " + keyA + "\n", "keys line 1: the key id must be letters"},
		{"long id", strings.Repeat("k", 65) + " " + keyA + "\n", "is 65 characters long"},
		{"duplicate id", "k1 " + keyA + "\n\nk1 " + keyB + "\n", "keys line 3: key id \"k1\" is already listed on line 1"},
		{"not base64", "k1 " + keyA[:20] + "!" + keyA[21:] + "\n", "keys line 1: key \"k1\" is not standard padded base64"},
		{"url alphabet", "k1 " + strings.Repeat("_", 43) + "=\n", "is not standard padded base64"},
		{"no padding", "k1 " + keyA[:43] + "\n", "is not standard padded base64"},
		{"16 bytes", "k1 " + short + "\n", "keys line 1: key \"k1\" decodes to 16 bytes, want 32"},
		{"not UTF-8", "k1 \xff\n", "is not UTF-8"},
		{"too large", strings.Repeat("#", secrets.MaxKeyFileSize+1), "at most 65536"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := secrets.Parse([]byte(tc.file), "keys")
			if !errors.Is(err, secrets.ErrInvalidKeyFile) {
				t.Fatalf("err = %v, want ErrInvalidKeyFile", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q, want it to contain %q", err, tc.want)
			}
			for _, k := range []string{keyA, keyB, keyA[:20], short} {
				if strings.Contains(err.Error(), k) {
					t.Errorf("err %q holds key material", err)
				}
			}
		})
	}
}

func TestSealOpen(t *testing.T) {
	old := mustParse(t, "old "+keyA+"\n")
	rotated := mustParse(t, "new "+keyB+"\nold "+keyA+"\n")
	const where = "webhook_definitions/erp-sync/secret_key"
	const plain = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

	s1, err := old.Seal(plain, where)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := old.Seal(plain, where)
	if !strings.HasPrefix(s1, "enc:v1:old:") || strings.Contains(s1, plain) || strings.Contains(s1, "MfKQ9r8G") {
		t.Errorf("sealed %q", s1)
	}
	if s1 == s2 {
		t.Error("two seals of one value are equal: the nonce is not random")
	}
	if !secrets.IsSealed(s1) || secrets.IsSealed(plain) {
		t.Error("IsSealed")
	}
	if id, ok := secrets.KeyID(s1); !ok || id != "old" {
		t.Errorf("KeyID = %q, %v", id, ok)
	}

	// Every listed key opens; the first seals.
	got, id, err := rotated.Open(s1, where)
	if err != nil || got != plain || id != "old" {
		t.Fatalf("Open under the rotated keyring = %q, %q, %v", got, id, err)
	}
	s3, _ := rotated.Seal(plain, where)
	if id, _ := secrets.KeyID(s3); id != "new" {
		t.Errorf("the rotated keyring seals under %q, want new", id)
	}

	// Faults, each with its error.
	_, _, err = old.Open(s3, where)
	var uk *secrets.UnknownKeyError
	if !errors.As(err, &uk) || uk.KeyID != "new" || !errors.Is(err, secrets.ErrUnknownKey) {
		t.Errorf("Open under a key not listed: %v, want *UnknownKeyError for new", err)
	}
	if _, _, err := old.Open(s1, "webhook_definitions/other/secret_key"); !errors.Is(err, secrets.ErrNotAuthentic) {
		t.Errorf("Open for another definition: %v, want ErrNotAuthentic", err)
	}
	enc := strings.TrimPrefix(s1, "enc:v1:old:")
	b, _ := base64.StdEncoding.DecodeString(enc)
	b[len(b)-1] ^= 1
	if _, _, err := old.Open("enc:v1:old:"+base64.StdEncoding.EncodeToString(b), where); !errors.Is(err, secrets.ErrNotAuthentic) {
		t.Errorf("Open of an altered value: %v, want ErrNotAuthentic", err)
	}
	// The key id is authenticated too: a value relabelled with another listed key fails.
	if _, _, err := rotated.Open("enc:v1:new:"+enc, where); !errors.Is(err, secrets.ErrNotAuthentic) {
		t.Errorf("Open of a relabelled value: %v, want ErrNotAuthentic", err)
	}
	for _, bad := range []string{plain, "enc:v1:", "enc:v1:old", "enc:v1:old:!!", "enc:v1:old:AAAA", "enc:v1::AAAA"} {
		if _, _, err := old.Open(bad, where); !errors.Is(err, secrets.ErrMalformed) {
			t.Errorf("Open(%q): %v, want ErrMalformed", bad, err)
		}
	}
	empty, err := old.Seal("", where)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := old.Open(empty, where); err != nil || got != "" {
		t.Errorf("empty value: %q, %v", got, err)
	}
}

func TestNew(t *testing.T) {
	if _, err := secrets.New(); !errors.Is(err, secrets.ErrInvalidKeyFile) {
		t.Errorf("New(): %v", err)
	}
	if _, err := secrets.New(secrets.Key{ID: "a", Secret: make([]byte, 31)}); err == nil {
		t.Error("New with a 31-byte key: no error")
	}
	if _, err := secrets.New(secrets.Key{ID: "a", Secret: make([]byte, 32)}, secrets.Key{ID: "a", Secret: make([]byte, 32)}); err == nil {
		t.Error("New with a duplicate id: no error")
	}
}

func TestLoadOrCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secrets.key")
	k, created, err := secrets.LoadOrCreate(path)
	if err != nil || !created {
		t.Fatalf("LoadOrCreate on no file = %v, created %v", err, created)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
	if m, loose := secrets.LooseMode(path); loose {
		t.Errorf("LooseMode(%v) = true", m)
	}
	again, created, err := secrets.LoadOrCreate(path)
	if err != nil || created || again.Primary() != k.Primary() {
		t.Errorf("LoadOrCreate on the file = %v, created %v, primary %s (want %s)", err, created, again.Primary(), k.Primary())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the directory holds %d entries, want the key file alone (no temporary left)", len(entries))
	}

	// A broken file is an error, never replaced.
	bad := filepath.Join(dir, "bad.key")
	if err := os.WriteFile(bad, []byte("k1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := secrets.LoadOrCreate(bad); !errors.Is(err, secrets.ErrInvalidKeyFile) || !strings.Contains(err.Error(), bad+" line 1") {
		t.Errorf("LoadOrCreate on a broken file: %v", err)
	}
	if _, _, err := secrets.LoadOrCreate(filepath.Join(dir, "missing", "secrets.key")); err == nil {
		t.Error("LoadOrCreate in a missing directory: no error")
	}
}

// TestLoadOrCreateRace: replicas starting at once on one data directory share one key.
func TestLoadOrCreateRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secrets.key")
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Go(func() {
			k, _, err := secrets.LoadOrCreate(path)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i] = k.Primary()
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("primaries %v differ", ids)
		}
	}
}

func TestCreateFileRefusesToOverwrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	if err := secrets.CreateFile(path, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := secrets.CreateFile(path, []byte("two")); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second CreateFile: %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "one" {
		t.Errorf("file holds %q", b)
	}
}

func TestNewKeyLine(t *testing.T) {
	line, err := secrets.NewKeyLine("")
	if err != nil {
		t.Fatal(err)
	}
	k := mustParse(t, line)
	if !strings.HasPrefix(k.Primary(), "k"+time.Now().UTC().Format("2006")) {
		t.Errorf("generated id %q", k.Primary())
	}
	if other, _ := secrets.NewKeyLine(""); other == line {
		t.Error("two generated lines are equal")
	}
	if line, err := secrets.NewKeyLine("prod-2"); err != nil || !strings.HasPrefix(line, "prod-2 ") || !strings.HasSuffix(line, "\n") {
		t.Errorf("NewKeyLine(prod-2) = %q, %v", line, err)
	}
	if _, err := secrets.NewKeyLine("a b"); err == nil {
		t.Error("NewKeyLine with a bad id: no error")
	}
}

// FuzzParse: any input either parses into a keyring whose keys seal and open, or fails with
// ErrInvalidKeyFile, an error that holds no line of the input's key material.
func FuzzParse(f *testing.F) {
	f.Add("k1 " + keyA + "\n")
	f.Add("# c\nnew " + keyB + " # x\r\nold " + keyA)
	f.Add("k1\n")
	f.Add("k1 " + keyA + "\nk1 " + keyA)
	f.Add("\xff")
	f.Fuzz(func(t *testing.T, in string) {
		k, err := secrets.Parse([]byte(in), "f")
		if err != nil {
			if !errors.Is(err, secrets.ErrInvalidKeyFile) {
				t.Fatalf("error %v does not wrap ErrInvalidKeyFile", err)
			}
			for _, line := range strings.Split(in, "\n") {
				f := strings.Fields(line)
				if len(f) == 2 && len(f[1]) >= 16 && !strings.Contains(f[0], f[1]) && strings.Contains(err.Error(), f[1]) {
					t.Fatalf("error %q quotes the key field %q", err, f[1])
				}
			}
			return
		}
		s, err := k.Seal("secret", "w")
		if err != nil {
			t.Fatal(err)
		}
		if got, id, err := k.Open(s, "w"); err != nil || got != "secret" || id != k.Primary() {
			t.Fatalf("Open = %q, %q, %v", got, id, err)
		}
	})
}
