package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/secrets"
)

// TestSecretKeygen: keygen prints a key file line, or writes a new key file (0600) that webhookd
// reads, and never overwrites one.
func TestSecretKeygen(t *testing.T) {
	out, err := exec.Command(binary, "secret", "keygen", "--id", "prod-1").Output()
	if err != nil {
		t.Fatal(err)
	}
	k, err := secrets.Parse(out, "stdout")
	if err != nil || k.Primary() != "prod-1" {
		t.Fatalf("printed line %q: %v", out, err)
	}

	path := filepath.Join(t.TempDir(), "secrets.key")
	if out, err := exec.Command(binary, "secret", "keygen", "--out", path).CombinedOutput(); err != nil || !strings.Contains(string(out), "Wrote key k") {
		t.Fatalf("keygen --out: %v\n%s", err, out)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, info.Mode().Perm())
	}
	first, err := secrets.LoadFile(path)
	if err != nil {
		t.Fatalf("webhookd could not read the key file: %v", err)
	}
	b, _ := os.ReadFile(path)
	out, err = exec.Command(binary, "secret", "keygen", "--out", path).CombinedOutput()
	if exitOf(err) != 1 || !strings.Contains(string(out), "never overwritten") {
		t.Errorf("keygen over an existing file: exit %d\n%s", exitOf(err), out)
	}
	if after, _ := os.ReadFile(path); string(after) != string(b) {
		t.Error("the existing key file changed")
	}
	if again, _ := secrets.LoadFile(path); again.Primary() != first.Primary() {
		t.Error("the existing key changed")
	}
	if err := exec.Command(binary, "secret", "keygen", "--id", "no spaces").Run(); exitOf(err) != exitUsage {
		t.Errorf("keygen with a bad id: exit %d, want %d", exitOf(err), exitUsage)
	}
}
