package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// SecretPrefix starts every secret key.
const SecretPrefix = "whsec_"

// Bounds of a secret's decoded length, in bytes (Standard Webhooks).
const (
	MinSecretBytes = 24
	MaxSecretBytes = 64
)

// generatedSecretBytes is the length of the keys GenerateSecret makes: the HMAC-SHA256 block
// size would be 64, but 32 random bytes already exceed the hash's security level.
const generatedSecretBytes = 32

// ErrInvalidSecret is wrapped by every error about a malformed secret key. Those errors name
// the fault, never the key.
var ErrInvalidSecret = errors.New("invalid secret key")

// DecodeSecret returns the HMAC key of a secret key: "whsec_" followed by the standard,
// padded base64 encoding (RFC 4648 section 4, strict: no whitespace, no URL alphabet, no
// missing padding) of 24 to 64 bytes. Strictness keeps one spelling per key, so a key copied
// between systems either works everywhere or fails at apply time.
func DecodeSecret(key string) ([]byte, error) {
	enc, ok := strings.CutPrefix(key, SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: it must start with %q", ErrInvalidSecret, SecretPrefix)
	}
	// encoding/base64 skips \r and \n even in strict mode; a key holds neither.
	if i := strings.IndexAny(enc, "\r\n"); i >= 0 {
		return nil, fmt.Errorf("%w: the part after %q holds a line break at byte %d", ErrInvalidSecret, SecretPrefix, i)
	}
	b, err := base64.StdEncoding.Strict().DecodeString(enc)
	if err != nil {
		// A CorruptInputError holds only an offset, never the input.
		return nil, fmt.Errorf("%w: the part after %q is not standard padded base64: %w", ErrInvalidSecret, SecretPrefix, err)
	}
	if len(b) < MinSecretBytes || len(b) > MaxSecretBytes {
		return nil, fmt.Errorf("%w: it decodes to %d bytes, want %d to %d", ErrInvalidSecret, len(b), MinSecretBytes, MaxSecretBytes)
	}
	return b, nil
}

// GenerateSecret returns a new secret key of 32 random bytes.
func GenerateSecret() (string, error) {
	b := make([]byte, generatedSecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate secret key: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}
