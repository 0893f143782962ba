package storage

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/redact"
	"github.com/webhookd/webhookd/secrets"
)

// Secrets at rest (CONTRACT.md section 4): both stores keep a definition's secret key, its
// previous secret key, the values of its credential headers and a URL that carries credentials
// (a token in its query) sealed (package secrets), with
// the place each belongs (definition id and field) as additional data. They seal on every write
// with SealDefinition and open on every read with OpenDefinition, so neither store holds them
// in clear, and the rule of what is sealed is written once.

// secretPlace is where a sealed value of a definition belongs: the additional data it is
// sealed with, so it opens nowhere else.
func secretPlace(defID, field string) string { return "webhook_definitions/" + defID + "/" + field }

// sealedURL reports whether a stored URL is, or is to be, sealed: one that carries credentials
// (a token in its query, as redact.URL masks), or that has the sealed form.
func sealedURL(u string) bool { return redact.URL(u) != u || secrets.IsSealed(u) }

// sealedField is one value of a definition that is sealed at rest, or may be.
type sealedField struct {
	// name is the field in the value's place (secretPlace): secret_key, headers.X-Api-Key, ….
	name  string
	value string
	// mustSeal: the value is a credential, so held in clear it is to be sealed (and a store
	// holding it so is stale).
	mustSeal bool
	set      func(string)
}

// sealedFields lists, in a fixed order (headers sorted by name), the values of d that are
// sealed at rest: the secret key, the previous secret key, the URL and the header values, each
// with whether it is a credential (every credential header's, as replies mask them, and a URL
// that carries credentials). It is the one list SealDefinition, OpenDefinition and NeedsReseal
// share.
func sealedFields(d *config.Definition) []sealedField {
	fs := make([]sealedField, 0, 3+len(d.Headers))
	fs = append(fs,
		sealedField{"secret_key", d.SecretKey, true, func(v string) { d.SecretKey = v }},
		sealedField{"previous_secret_key", d.PreviousSecretKey, true, func(v string) { d.PreviousSecretKey = v }},
		sealedField{"url", d.URL, sealedURL(d.URL), func(v string) { d.URL = v }},
	)
	for _, name := range slices.Sorted(maps.Keys(d.Headers)) {
		fs = append(fs, sealedField{"headers." + name, d.Headers[name], redact.CredentialHeader(name),
			func(v string) { d.Headers[name] = v }})
	}
	return fs
}

// SealDefinition returns a copy of d as it is stored: its secret key, previous secret key,
// credential header values and a URL that carries credentials sealed under the keyring's
// primary key, and any value that has the sealed form sealed too (so a read never mistakes one
// for clear text). PreviousSecretUntil, which only replies carry, is dropped.
func SealDefinition(k *secrets.Keyring, d config.Definition) (config.Definition, error) {
	c := d.Clone()
	c.PreviousSecretUntil = nil
	for _, f := range sealedFields(&c) {
		if f.value == "" || !f.mustSeal && !secrets.IsSealed(f.value) {
			continue
		}
		s, err := k.Seal(f.value, secretPlace(d.ID, f.name))
		if err != nil {
			return config.Definition{}, fmt.Errorf("webhook definition %s: %s: %w", d.ID, f.name, err)
		}
		f.set(s)
	}
	return c, nil
}

// OpenDefinition opens, in place, what SealDefinition sealed. It reports d stale when a value is
// sealed under a key other than the primary, or is in clear (a store written before secrets were
// encrypted at rest): ReencryptSecrets rewrites such definitions. An error names the definition,
// the field and, for a key the key file does not list, the key id (errors.Is
// secrets.ErrUnknownKey); it never holds a secret.
func OpenDefinition(k *secrets.Keyring, d *config.Definition) (stale bool, err error) {
	var errs []error
	for _, f := range sealedFields(d) {
		if !secrets.IsSealed(f.value) {
			if f.mustSeal && f.value != "" {
				stale = true
			}
			continue
		}
		plain, keyID, err := k.Open(f.value, secretPlace(d.ID, f.name))
		if err != nil {
			errs = append(errs, fmt.Errorf("webhook definition %s: %s: %w", d.ID, f.name, err))
			continue
		}
		if keyID != k.Primary() {
			stale = true
		}
		f.set(plain)
	}
	return stale, errors.Join(errs...)
}

// Reencryption is what a store's ReencryptSecrets did.
type Reencryption struct {
	// KeyID is the primary key, the one everything is sealed under afterwards.
	KeyID string
	// Reencrypted counts the definitions rewritten under KeyID (from an older key, or clear text).
	Reencrypted int
	// Stale counts the definitions still not wholly sealed under KeyID: those that could not be
	// opened (the error says why) or that changed while they were being rewritten (the next run
	// sees them again).
	Stale int
}

// NeedsReseal reports, without opening anything, whether a stored definition holds a secret in
// clear or sealed under a key other than the primary: what ReencryptSecrets rewrites.
func NeedsReseal(k *secrets.Keyring, d *config.Definition) bool {
	for _, f := range sealedFields(d) {
		if id, ok := secrets.KeyID(f.value); ok {
			if id != k.Primary() {
				return true
			}
		} else if f.mustSeal && f.value != "" {
			return true
		}
	}
	return false
}

// Reseal opens a stored definition and seals it again under the primary key, dropping a
// previous secret key whose grace is over at now. It returns the definition to store.
func Reseal(k *secrets.Keyring, raw config.Definition, now time.Time) (config.Definition, error) {
	d := raw.Clone()
	if _, err := OpenDefinition(k, &d); err != nil {
		return config.Definition{}, err
	}
	if d.PreviousSecretAt(now) == "" {
		d.PreviousSecretKey, d.SecretRotatedAt = "", nil
	}
	return SealDefinition(k, d)
}
