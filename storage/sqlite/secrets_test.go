package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/webhookd/webhookd/storage/storagetest"
)

// rawFiles reads the database file and its WAL, as they are on disk.
func rawFiles(t *testing.T, path string) []byte {
	t.Helper()
	var all []byte
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

// TestNoSecretInTheFile reads the bytes of the database file (and its write-ahead log) after
// definitions with every kind of secret were applied, rotated and read back: none of them is
// there in clear, while a header that is no credential is.
func TestNoSecretInTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "webhookd.db")
	s := open(t, path, storagetest.Keyring(t))
	want := storagetest.WriteSecrets(t, s)
	if err := s.Close(context.Background()); err != nil { // checkpoints the WAL into the file
		t.Fatal(err)
	}
	raw := rawFiles(t, path)
	if !bytes.Contains(raw, []byte("def-secrets")) || !bytes.Contains(raw, []byte(`"X-Api-Version":"2"`)) {
		t.Fatal("the file does not hold the definition at all: is this the right file?")
	}
	for _, secret := range want {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("the database file holds %q in clear", secret)
		}
	}
	if !bytes.Contains(raw, []byte("enc:v1:old:")) {
		t.Error("the database file holds no sealed value")
	}
	t.Logf("%d bytes of %s searched for %d secrets: none found", len(raw), filepath.Base(path), len(want))
}

// TestUpgradeFromClearText: a store written before secrets were encrypted at rest holds them in
// clear; it is read as it is, and ReencryptSecrets seals it.
func TestUpgradeFromClearText(t *testing.T) {
	path := filepath.Join(t.TempDir(), "webhookd.db")
	keys := storagetest.Keyring(t)
	s := open(t, path, keys)
	const secret = storagetest.LegacySecretKey
	legacy := map[string]any{
		"id": "legacy", "name": "Legacy", "url": "https://erp.example.com/hooks", "method": "POST",
		"secret_key": secret, "headers": map[string]string{"Authorization": storagetest.LegacyAuthorization, "X-Api-Version": "2"},
		"logging": "all", "timeout": "10s", "max_in_flight": 32, "active": true,
		"retry": map[string]any{"max_attempts": 6, "initial_interval": "1s", "max_interval": "10m", "multiplier": 2},
	}
	doc, _ := json.Marshal(legacy)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), `INSERT INTO webhook_definitions (id, doc) VALUES ('legacy', ?)`, string(doc)); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()

	storagetest.CheckUpgradeFromClearText(t, s, nil)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	raw := rawFiles(t, path)
	for _, v := range []string{secret[6:], "legacy-token-0123456789"} {
		if bytes.Contains(raw, []byte(v)) {
			t.Errorf("after re-encryption the file still holds %q in clear", v)
		}
	}
}
