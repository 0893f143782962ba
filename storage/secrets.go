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

// credentialHeader reports whether a header's value is a credential, sealed at rest: the names
// that replies mask, from the one list of them.
var credentialHeader = redact.CredentialHeader

// secretPlace is where a sealed value of a definition belongs: the additional data it is
// sealed with, so it opens nowhere else.
func secretPlace(defID, field string) string { return "webhook_definitions/" + defID + "/" + field }

// sealedURL reports whether a stored URL is, or is to be, sealed: one that carries credentials
// (a token in its query, as redact.URL masks), or that has the sealed form.
func sealedURL(u string) bool { return redact.URL(u) != u || secrets.IsSealed(u) }

// sealedHeader reports whether a stored header value is, or is to be, sealed: every credential
// header's, and any value that has the sealed form (so a read never mistakes one for clear text).
func sealedHeader(name, value string) bool {
	return credentialHeader(name) || secrets.IsSealed(value)
}

// SealDefinition returns a copy of d as it is stored: its secret key, previous secret key and
// credential header values sealed under the keyring's primary key. PreviousSecretUntil, which
// only replies carry, is dropped.
func SealDefinition(k *secrets.Keyring, d config.Definition) (config.Definition, error) {
	c := d.Clone()
	c.PreviousSecretUntil = nil
	seal := func(field, v string) (string, error) {
		if v == "" {
			return "", nil
		}
		s, err := k.Seal(v, secretPlace(d.ID, field))
		if err != nil {
			return "", fmt.Errorf("webhook definition %s: %s: %w", d.ID, field, err)
		}
		return s, nil
	}
	var err error
	if c.SecretKey, err = seal("secret_key", c.SecretKey); err != nil {
		return config.Definition{}, err
	}
	if c.PreviousSecretKey, err = seal("previous_secret_key", c.PreviousSecretKey); err != nil {
		return config.Definition{}, err
	}
	if sealedURL(c.URL) {
		if c.URL, err = seal("url", c.URL); err != nil {
			return config.Definition{}, err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Headers)) {
		if v := c.Headers[name]; sealedHeader(name, v) {
			if c.Headers[name], err = seal("headers."+name, v); err != nil {
				return config.Definition{}, err
			}
		}
	}
	return c, nil
}

// OpenDefinition opens, in place, what SealDefinition sealed. It reports d stale when a value is
// sealed under a key other than the primary, or is in clear (a store written before secrets were
// encrypted at rest): ReencryptSecrets rewrites such definitions. An error names the definition,
// the field and, for a key the key file does not list, the key id (errors.Is
// secrets.ErrUnknownKey); it never holds a secret.
func OpenDefinition(k *secrets.Keyring, d *config.Definition) (stale bool, err error) {
	open := func(field, v string, mustSeal bool) (string, error) {
		if !secrets.IsSealed(v) {
			if mustSeal && v != "" {
				stale = true
			}
			return v, nil
		}
		plain, keyID, err := k.Open(v, secretPlace(d.ID, field))
		if err != nil {
			return "", fmt.Errorf("webhook definition %s: %s: %w", d.ID, field, err)
		}
		if keyID != k.Primary() {
			stale = true
		}
		return plain, nil
	}
	var errs []error
	if d.SecretKey, err = open("secret_key", d.SecretKey, true); err != nil {
		errs = append(errs, err)
	}
	if d.PreviousSecretKey, err = open("previous_secret_key", d.PreviousSecretKey, true); err != nil {
		errs = append(errs, err)
	}
	if d.URL, err = open("url", d.URL, sealedURL(d.URL)); err != nil {
		errs = append(errs, err)
	}
	for _, name := range slices.Sorted(maps.Keys(d.Headers)) {
		v, err := open("headers."+name, d.Headers[name], credentialHeader(name))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		d.Headers[name] = v
	}
	if err := errors.Join(errs...); err != nil {
		return stale, err
	}
	return stale, nil
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
	stale := func(v string, mustSeal bool) bool {
		if id, ok := secrets.KeyID(v); ok {
			return id != k.Primary()
		}
		return mustSeal && v != ""
	}
	if stale(d.SecretKey, true) || stale(d.PreviousSecretKey, true) || stale(d.URL, sealedURL(d.URL)) {
		return true
	}
	for name, v := range d.Headers {
		if stale(v, credentialHeader(name)) {
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
