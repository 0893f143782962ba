package storagetest

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/redact"
	"github.com/webhookd/webhookd/secrets"
)

// Key file lines of the suite's keys: "old" is the one stores are opened with, "new" the one a
// key rotation puts first, "other" one that knows nothing of either.
var (
	keyOld   = "old " + base64.StdEncoding.EncodeToString([]byte("the suite's old key, 32 bytes!!!")) + "\n"
	keyNew   = "new " + base64.StdEncoding.EncodeToString([]byte("the suite's new key, 32 bytes!!!")) + "\n"
	keyOther = "other " + base64.StdEncoding.EncodeToString([]byte("an unrelated key of 32 bytes!!!!")) + "\n"
)

// rotatedKey is a second valid secret key, for secret rotation.
const rotatedKey = "whsec_T3RoZXIga2V5IGZvciByb3RhdGlvbiB0ZXN0cw=="

func keyring(t testing.TB, lines ...string) *secrets.Keyring {
	t.Helper()
	k, err := secrets.Parse([]byte(strings.Join(lines, "")), "suite keys")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Keyring returns a keyring of a fixed test key, for stores opened outside the suite.
func Keyring(t testing.TB) *secrets.Keyring { return keyring(t, keyOld) }

// WriteSecrets applies definitions holding every kind of secret a store keeps (a secret key, a
// previous secret key after a rotation, credential header values) and returns those values,
// none of which the store's raw data may hold in clear.
func WriteSecrets(t *testing.T, st Store) []string {
	t.Helper()
	d := definition("def-secrets")
	d.SecretRotationGrace = config.Duration(24 * time.Hour)
	d.Headers = map[string]string{
		"Authorization":      "Bearer raw-check-authorization-0123456789",
		"X-Api-Key":          "raw-check-api-key-0123456789",
		"Webhook-Auth-Token": "raw-check-webhook-auth-token-0123456789",
		"X-Api-Version":      "2",
	}
	if err := st.ApplyConfig(ctx(t), []config.Definition{d}, nil, "alice", t0); err != nil {
		t.Fatalf("ApplyConfig: %v", err)
	}
	d2 := d
	d2.SecretKey = rotatedKey
	if err := st.ApplyConfig(ctx(t), []config.Definition{d2}, nil, "alice", t0.Add(time.Minute)); err != nil {
		t.Fatalf("ApplyConfig: %v", err)
	}
	got, err := st.GetDefinition(ctx(t), d.ID)
	if err != nil {
		t.Fatalf("GetDefinition: %v", err)
	}
	if got.SecretKey != rotatedKey || got.PreviousSecretKey != d.SecretKey || got.Headers["Authorization"] != d.Headers["Authorization"] {
		t.Fatalf("the store does not return the secrets it was given: %+v", got)
	}
	out := []string{d.SecretKey, rotatedKey}
	for name, v := range d.Headers {
		if redact.CredentialHeader(name) {
			out = append(out, v)
		}
	}
	// What must not appear is the secret part: without the prefix, and a stretch of each.
	var parts []string
	for _, v := range out {
		v = strings.TrimPrefix(strings.TrimPrefix(v, "whsec_"), "Bearer ")
		parts = append(parts, v, v[:12])
	}
	return parts
}

// testSecretRotation: applying a changed secret_key keeps the old one as the previous key with
// the time of the change, for secret_rotation_grace; the same key applied again keeps it within
// the grace and drops it after; grace 0 keeps none.
func (s *suite) testSecretRotation(t *testing.T) {
	st := s.open(t)
	d := definition("def-a")
	d.SecretRotationGrace = config.Duration(24 * time.Hour)
	apply(t, st, []config.Definition{d}, nil, "alice", t0)
	if got := getDefinition(t, st, "def-a"); got.PreviousSecretKey != "" || got.SecretRotatedAt != nil {
		t.Fatalf("a new definition has a previous key: %+v", got)
	}

	t1 := t0.Add(time.Hour)
	d2 := d
	d2.SecretKey = rotatedKey
	apply(t, st, []config.Definition{d2}, nil, "bob", t1)
	want := applied(d2, "bob", t1)
	rotatedAt := norm(t1)
	want.PreviousSecretKey, want.SecretRotatedAt = d.SecretKey, &rotatedAt
	equal(t, "rotated definition", getDefinition(t, st, "def-a"), want)
	defs, err := st.ListDefinitions(ctx(t))
	if err != nil || len(defs) != 1 {
		t.Fatalf("ListDefinitions = %d, %v", len(defs), err)
	}
	equal(t, "listed rotated definition", defs[0], want)
	if got := getDefinition(t, st, "def-a"); got.SecretRotatedAt != nil {
		checkUTC(t, "secret_rotated_at", *got.SecretRotatedAt)
	}

	// Endpoint health leaves the rotation alone.
	if _, err := st.DisableDefinition(ctx(t), "def-a", "410 Gone", t1.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := getDefinition(t, st, "def-a"); got.PreviousSecretKey != d.SecretKey || got.SecretKey != rotatedKey {
		t.Errorf("DisableDefinition changed the secrets: %+v", got)
	}

	// The same key again within the grace: the rotation stays as it was.
	apply(t, st, []config.Definition{d2}, nil, "bob", t1.Add(2*time.Hour))
	if got := getDefinition(t, st, "def-a"); got.PreviousSecretKey != d.SecretKey || got.SecretRotatedAt == nil || !got.SecretRotatedAt.Equal(rotatedAt) {
		t.Errorf("re-applied within the grace: previous %q at %v, want it kept from %v", got.PreviousSecretKey, got.SecretRotatedAt, rotatedAt)
	}
	// After the grace: dropped.
	apply(t, st, []config.Definition{d2}, nil, "bob", t1.Add(25*time.Hour))
	if got := getDefinition(t, st, "def-a"); got.PreviousSecretKey != "" || got.SecretRotatedAt != nil {
		t.Errorf("re-applied after the grace: previous %q at %v, want none", got.PreviousSecretKey, got.SecretRotatedAt)
	}
	// Grace 0: a change keeps no previous key.
	d3 := d
	d3.SecretRotationGrace = 0
	apply(t, st, []config.Definition{d3}, nil, "bob", t1.Add(26*time.Hour))
	if got := getDefinition(t, st, "def-a"); got.PreviousSecretKey != "" || got.SecretKey != d.SecretKey {
		t.Errorf("changed with grace 0: %+v, want no previous key", got)
	}
}

// testKeyRotation: a store reopened with a new key first reads what the old key sealed, and
// ReencryptSecrets seals it under the new key, once, changing nothing else (neither the config
// version nor a definition's disabled state); then the old key is no longer needed.
func (s *suite) testKeyRotation(t *testing.T) {
	old := s.openWith(t, keyring(t, keyOld))
	a, b := definition("def-a"), definition("def-b")
	b.Headers = map[string]string{"X-Api-Key": "key-of-b-0123456789", "X-Api-Version": "3"}
	apply(t, old, []config.Definition{a, b}, nil, "alice", t0)
	if _, err := old.DisableDefinition(ctx(t), "def-b", "410 Gone", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantA, wantB := getDefinition(t, old, "def-a"), getDefinition(t, old, "def-b")
	if res, err := old.ReencryptSecrets(ctx(t)); err != nil || res.Reencrypted != 0 || res.Stale != 0 || res.KeyID != "old" {
		t.Errorf("ReencryptSecrets with nothing to do = %+v, %v", res, err)
	}
	v0 := version(t, old)

	rotated := s.openWith(t, keyring(t, keyNew, keyOld))
	equal(t, "def-a read under the rotated keys", getDefinition(t, rotated, "def-a"), wantA)
	res, err := rotated.ReencryptSecrets(ctx(t))
	if err != nil || res.KeyID != "new" || res.Reencrypted != 2 || res.Stale != 0 {
		t.Fatalf("ReencryptSecrets = %+v, %v; want 2 definitions re-encrypted under new", res, err)
	}
	if res, err := rotated.ReencryptSecrets(ctx(t)); err != nil || res.Reencrypted != 0 || res.Stale != 0 {
		t.Errorf("second ReencryptSecrets = %+v, %v; want nothing left", res, err)
	}
	if v := version(t, rotated); v != v0 {
		t.Errorf("config version %d after re-encryption, want %d", v, v0)
	}

	newOnly := s.openWith(t, keyring(t, keyNew))
	equal(t, "def-a under the new key alone", getDefinition(t, newOnly, "def-a"), wantA)
	equal(t, "def-b under the new key alone", getDefinition(t, newOnly, "def-b"), wantB)
	if _, err := old.GetDefinition(ctx(t), "def-a"); !errors.Is(err, secrets.ErrUnknownKey) {
		t.Errorf("the old key alone reads a re-encrypted definition: %v", err)
	}
}

// testKeyRotationWithoutHeaders: a key rotation re-encrypts every sealed field of a definition
// that has no headers too: a URL that carries a token.
func (s *suite) testKeyRotationWithoutHeaders(t *testing.T) {
	old := s.openWith(t, keyring(t, keyOld))
	d := definition("def-a")
	d.Headers = nil
	d.URL = "https://def-a.example.com/hooks?token=0123456789abcdefghijklmnop"
	apply(t, old, []config.Definition{d}, nil, "alice", t0)
	want := getDefinition(t, old, "def-a")

	rotated := s.openWith(t, keyring(t, keyNew, keyOld))
	if res, err := rotated.ReencryptSecrets(ctx(t)); err != nil || res.Reencrypted != 1 || res.Stale != 0 {
		t.Fatalf("ReencryptSecrets = %+v, %v; want 1 definition re-encrypted", res, err)
	}
	newOnly := s.openWith(t, keyring(t, keyNew))
	equal(t, "def-a under the new key alone", getDefinition(t, newOnly, "def-a"), want)
}

// testUnknownKey: a secret sealed under a key the store was not given is an error that names the
// definition and the key id (never a definition without its secret); applying the definition
// again replaces it.
func (s *suite) testUnknownKey(t *testing.T) {
	old := s.openWith(t, keyring(t, keyOld))
	d := definition("def-a")
	d.SecretRotationGrace = config.Duration(24 * time.Hour)
	apply(t, old, []config.Definition{d}, nil, "alice", t0)

	other := s.openWith(t, keyring(t, keyOther))
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, secrets.ErrUnknownKey) || !strings.Contains(err.Error(), "def-a") || !strings.Contains(err.Error(), `"old"`) {
			t.Errorf("%s under an unknown key: %v; want ErrUnknownKey naming def-a and key \"old\"", what, err)
		}
		if err != nil && strings.Contains(err.Error(), d.SecretKey[6:]) {
			t.Errorf("%s: error %q holds the secret", what, err)
		}
	}
	_, err := other.GetDefinition(ctx(t), "def-a")
	check("GetDefinition", err)
	_, err = other.ListDefinitions(ctx(t))
	check("ListDefinitions", err)
	res, err := other.ReencryptSecrets(ctx(t))
	check("ReencryptSecrets", err)
	if res.Stale != 1 || res.Reencrypted != 0 || res.KeyID != "other" {
		t.Errorf("ReencryptSecrets = %+v, want 1 stale under other", res)
	}

	// Applied again (here with a new key), it is readable; nothing it had can be carried over.
	d2 := d
	d2.SecretKey = rotatedKey
	apply(t, other, []config.Definition{d2}, nil, "bob", t0.Add(time.Hour))
	got := getDefinition(t, other, "def-a")
	if got.SecretKey != rotatedKey || got.PreviousSecretKey != "" {
		t.Errorf("re-applied under the other key: %+v", got)
	}
}

// LegacySecretKey and LegacyAuthorization are the secret key and the Authorization header value
// of the definition "legacy" a store test writes in clear, as a store written before secrets were
// encrypted at rest holds it, before calling CheckUpgradeFromClearText.
const (
	LegacySecretKey     = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	LegacyAuthorization = "Bearer legacy-token-0123456789"
)

// CheckUpgradeFromClearText checks, on a store holding the definition "legacy" in clear (with
// LegacySecretKey and LegacyAuthorization), that it is read as it is, that ReencryptSecrets
// seals it, and that it reads the same afterwards; kept, when not nil, says what else of the
// definition must have survived the re-encryption.
func CheckUpgradeFromClearText(t *testing.T, s Store, kept func(*config.Definition) bool) {
	t.Helper()
	d, err := s.GetDefinition(ctx(t), "legacy")
	if err != nil || d.SecretKey != LegacySecretKey || d.Headers["Authorization"] != LegacyAuthorization {
		t.Fatalf("GetDefinition of a clear-text definition = %+v, %v", d, err)
	}
	res, err := s.ReencryptSecrets(ctx(t))
	if err != nil || res.Reencrypted != 1 || res.Stale != 0 {
		t.Fatalf("ReencryptSecrets = %+v, %v; want 1 re-encrypted", res, err)
	}
	d2, err := s.GetDefinition(ctx(t), "legacy")
	if err != nil || d2.SecretKey != LegacySecretKey || d2.Headers["Authorization"] != d.Headers["Authorization"] || kept != nil && !kept(d2) {
		t.Fatalf("after re-encryption: %+v, %v", d2, err)
	}
}
