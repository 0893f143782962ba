package secrets

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// KeySize is the length of an AES-256 key, in bytes.
const KeySize = 32

// Prefix starts every sealed value; the version after "enc:" names the format.
const Prefix = "enc:v1:"

// MaxKeyIDLength bounds a key id.
const MaxKeyIDLength = 64

var keyIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Errors, checked with errors.Is. None of them holds key material or a secret.
var (
	// ErrInvalidKeyFile is wrapped by every fault of a key file.
	ErrInvalidKeyFile = errors.New("invalid secrets key file")
	// ErrUnknownKey: a sealed value names a key the key file does not list (see *UnknownKeyError).
	ErrUnknownKey = errors.New("unknown secrets key")
	// ErrMalformed: a value that starts like a sealed one but is not one.
	ErrMalformed = errors.New("malformed sealed value")
	// ErrNotAuthentic: the value does not open under its key: it was sealed for another place
	// (another definition or field), or altered.
	ErrNotAuthentic = errors.New("sealed value does not authenticate")
)

// UnknownKeyError says which key a sealed value needs that the key file does not list.
type UnknownKeyError struct {
	KeyID string
}

func (e *UnknownKeyError) Error() string {
	return fmt.Sprintf("encrypted under key %q, which the secrets key file does not list", e.KeyID)
}

// Is makes errors.Is(err, ErrUnknownKey) true.
func (e *UnknownKeyError) Is(target error) bool { return target == ErrUnknownKey }

// CheckKeyID returns why id is not a valid key id, or "" if it is: 1 to 64 letters, digits,
// '.', '_' or '-', starting with a letter or digit (so it never holds the ':' of the sealed form).
func CheckKeyID(id string) string {
	switch {
	case id == "":
		return "is empty"
	case len(id) > MaxKeyIDLength:
		return fmt.Sprintf("is %d characters long, at most %d are allowed", len(id), MaxKeyIDLength)
	case !keyIDRE.MatchString(id):
		return "must be letters, digits, '.', '_' or '-', starting with a letter or digit"
	}
	return ""
}

// Key is one key of a Keyring.
type Key struct {
	ID     string
	Secret []byte // KeySize bytes
}

type entry struct {
	id   string
	aead cipher.AEAD
}

// Keyring holds the keys of a key file: the first seals, every one opens. It is immutable and
// safe for concurrent use.
type Keyring struct {
	keys []entry
	byID map[string]cipher.AEAD
}

// New returns a keyring of keys, the first of which seals. Ids must be valid and distinct,
// secrets KeySize bytes long; the secrets are copied.
func New(keys ...Key) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no keys", ErrInvalidKeyFile)
	}
	k := &Keyring{byID: make(map[string]cipher.AEAD, len(keys))}
	for i, key := range keys {
		if msg := CheckKeyID(key.ID); msg != "" {
			return nil, fmt.Errorf("%w: key %d: key id %s", ErrInvalidKeyFile, i+1, msg)
		}
		if _, dup := k.byID[key.ID]; dup {
			return nil, fmt.Errorf("%w: key %d: key id %q is listed twice", ErrInvalidKeyFile, i+1, key.ID)
		}
		aead, err := newAEAD(key.Secret)
		if err != nil {
			return nil, fmt.Errorf("%w: key %q: %w", ErrInvalidKeyFile, key.ID, err)
		}
		k.keys = append(k.keys, entry{id: key.ID, aead: aead})
		k.byID[key.ID] = aead
	}
	return k, nil
}

func newAEAD(secret []byte) (cipher.AEAD, error) {
	if len(secret) != KeySize {
		return nil, fmt.Errorf("is %d bytes, want %d", len(secret), KeySize)
	}
	block, err := aes.NewCipher(bytes.Clone(secret))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Primary is the id of the key that seals.
func (k *Keyring) Primary() string { return k.keys[0].id }

// IDs lists the key ids in the key file's order, the primary first.
func (k *Keyring) IDs() []string {
	out := make([]string, len(k.keys))
	for i, e := range k.keys {
		out[i] = e.id
	}
	return out
}

// aad binds the format and the key id to the caller's additional data, so neither can be
// swapped without the value failing to open.
func aad(keyID, where string) []byte {
	return []byte(Prefix + keyID + ":" + where)
}

// Seal encrypts plain under the primary key, with where (the place the value belongs, such as
// "webhook_definitions/erp-sync/secret_key") as additional authenticated data, and a random
// nonce: sealing the same value twice gives two different strings.
func (k *Keyring) Seal(plain, where string) (string, error) {
	e := k.keys[0]
	nonce := make([]byte, e.aead.NonceSize(), e.aead.NonceSize()+len(plain)+e.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal %s: random nonce: %w", where, err)
	}
	out := e.aead.Seal(nonce, nonce, []byte(plain), aad(e.id, where))
	return Prefix + e.id + ":" + base64.StdEncoding.EncodeToString(out), nil
}

// Open decrypts a value Seal returned for the same where, and reports the id of the key it was
// sealed under. Errors: *UnknownKeyError, ErrMalformed, ErrNotAuthentic.
func (k *Keyring) Open(sealed, where string) (plain, keyID string, err error) {
	keyID, enc, err := split(sealed)
	if err != nil {
		return "", "", err
	}
	aead, ok := k.byID[keyID]
	if !ok {
		return "", keyID, &UnknownKeyError{KeyID: keyID}
	}
	b, err := base64.StdEncoding.Strict().DecodeString(enc)
	if err != nil {
		return "", keyID, fmt.Errorf("%w: key %q: the ciphertext is not standard base64", ErrMalformed, keyID)
	}
	if len(b) < aead.NonceSize()+aead.Overhead() {
		return "", keyID, fmt.Errorf("%w: key %q: the ciphertext is %d bytes, too short", ErrMalformed, keyID, len(b))
	}
	n := aead.NonceSize()
	out, err := aead.Open(nil, b[:n], b[n:], aad(keyID, where))
	if err != nil {
		return "", keyID, fmt.Errorf("%w: key %q: it was encrypted for another place than %s, or altered", ErrNotAuthentic, keyID, where)
	}
	return string(out), keyID, nil
}

// IsSealed reports whether v has the form of a sealed value. A value without it is clear text
// (a store written before encryption at rest).
func IsSealed(v string) bool { return strings.HasPrefix(v, Prefix) }

// KeyID returns the id of the key v is sealed under, or false when v is not sealed.
func KeyID(v string) (string, bool) {
	id, _, err := split(v)
	return id, err == nil
}

func split(sealed string) (keyID, enc string, err error) {
	rest, ok := strings.CutPrefix(sealed, Prefix)
	if !ok {
		return "", "", fmt.Errorf("%w: it does not start with %q", ErrMalformed, Prefix)
	}
	keyID, enc, ok = strings.Cut(rest, ":")
	if !ok {
		return "", "", fmt.Errorf("%w: no ':' after the key id", ErrMalformed)
	}
	if msg := CheckKeyID(keyID); msg != "" {
		return "", "", fmt.Errorf("%w: the key id %s", ErrMalformed, msg)
	}
	return keyID, enc, nil
}
