// Package redact is webhookd's one masking: what of a secret key, a credential header, a URL
// and a JSON request may be stored, logged and shown. Webhook requests (worker and resend),
// control replies, the audit log and log lines all mask through it, so they cannot drift apart.
//
// A masked value is the ellipsis Mask followed by the last 4 characters of the value, when at
// least 20 more stay hidden (a value of 24 characters or more), else Mask alone. Characters are
// runes, never bytes, so a mask never cuts a UTF-8 character. Masking is idempotent: a masked
// value masked again is unchanged, so replies may mask what the store already holds masked.
//
// Names (header names, query parameter names, JSON keys) are matched case-insensitively, with
// Unicode simple folding, the way encoding/json matches keys: "Secret_Key", "SECRET_KEY" and
// "ſecret_key" (a long s) are all the key secret_key.
package redact

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/webhookd/webhookd/webhook"
)

// Mask replaces the hidden part of a value.
const Mask = "…"

// SecretPrefix starts every secret key (webhook.SecretPrefix); Secret keeps it readable.
const SecretPrefix = webhook.SecretPrefix

const (
	// shown is how many trailing characters a long enough value keeps.
	shown = 4
	// minLength is the shortest value (in runes) that keeps its last shown characters: at
	// least 20 stay hidden. A valid secret key has at least 32 after its prefix.
	minLength = 24
)

// Value masks v: "" stays "" (so "no value" stays visible), a value of at least 24 characters
// becomes "…" and its last 4, a shorter one "…" alone. A value that is already masked is
// returned as it is.
func Value(v string) string {
	if v == "" || IsMasked(v) {
		return v
	}
	n := utf8.RuneCountInString(v)
	if n < minLength {
		return Mask
	}
	// The start of the last 4 runes.
	i := len(v)
	for range shown {
		_, size := utf8.DecodeLastRuneInString(v[:i])
		i -= size
	}
	return Mask + strings.ToValidUTF8(v[i:], "\uFFFD")
}

// IsMasked reports whether v is a masked value as Value returns it: Mask alone, or Mask and at
// most 4 characters (valid UTF-8).
func IsMasked(v string) bool {
	rest, ok := strings.CutPrefix(v, Mask)
	return ok && utf8.ValidString(rest) && utf8.RuneCountInString(rest) <= shown
}

// Secret masks a secret key, keeping its "whsec_" prefix when it has one: whsec_…LaSw (CONTRACT.md
// section 5). An empty key stays empty; a key with nothing after the prefix is "whsec_…".
func Secret(key string) string {
	if key == "" {
		return ""
	}
	if rest, ok := strings.CutPrefix(key, SecretPrefix); ok {
		if rest == "" {
			return SecretPrefix + Mask
		}
		return SecretPrefix + Value(rest)
	}
	return Value(key)
}

// readableHeaders are webhookd's own Standard Webhooks headers: none is a credential (the
// signature is an HMAC of the very request it signs), and they are what a receiver's operator
// looks for. Every other name follows CredentialName, webhook-* names included.
var readableHeaders = map[string]bool{
	"webhook-id":        true,
	"webhook-timestamp": true,
	"webhook-signature": true,
}

// credentialNames are names masked as a whole word; credentialWords are masked wherever they
// appear in a name. Both are folded (see Fold).
var (
	credentialNames = map[string]bool{
		"authorization":       true,
		"proxy-authorization": true,
		"cookie":              true,
		"set-cookie":          true,
		"set-cookie2":         true,
		"pass":                true,
		"pwd":                 true,
		"sig":                 true,
	}
	credentialWords = []string{
		"auth", // Authorization, X-Auth-Token, WWW-Authenticate, oauth_*
		"token",
		"secret",
		"passw", // password, passwd
		"passphrase",
		"key", // X-Api-Key, api_key, apikey
		"signature",
		"credential",
		"session",
		"cookie",
		"jwt",
		"bearer",
	}
)

// CredentialWords lists the words that make a name a credential's, for documentation.
func CredentialWords() []string { return append([]string(nil), credentialWords...) }

// CredentialName reports whether a header name, a query parameter name or a JSON key names a
// credential: Authorization, Proxy-Authorization, Cookie, Set-Cookie, pass, pwd, sig, or any
// name that contains auth, token, secret, passw, passphrase, key, signature, credential,
// session, cookie, jwt or bearer, in any case.
func CredentialName(name string) bool { return credentialFolded(Fold(name)) }

// credentialFolded is CredentialName of a name already folded (Fold), so a caller that folded
// it for its own lookups does not fold it again.
func credentialFolded(n string) bool {
	if credentialNames[n] {
		return true
	}
	for _, w := range credentialWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// CredentialHeader reports whether a header's value is masked: CredentialName, except for
// webhookd's own webhook-id, webhook-timestamp and webhook-signature, which stay readable.
func CredentialHeader(name string) bool {
	n := Fold(name)
	return !readableHeaders[n] && credentialFolded(n)
}

// Header returns value as it may be stored and shown under the header name.
func Header(name, value string) string {
	if CredentialHeader(name) {
		return Value(value)
	}
	return value
}

// Headers returns a copy of h with the values of credential headers masked; nil stays nil.
func Headers(h map[string]string) map[string]string {
	if h == nil {
		return nil
	}
	m := make(map[string]string, len(h))
	for k, v := range h {
		m[k] = Header(k, v)
	}
	return m
}

// Fold returns name folded the way encoding/json and strings.EqualFold compare: two names are
// equal under EqualFold exactly when their folds are equal, and a name equal to an ASCII word
// under EqualFold folds to that word in lower case (the Kelvin sign to "k", a long s to "s").
func Fold(name string) string {
	ascii := true
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(name)
	}
	var b strings.Builder
	b.Grow(len(name))
	for _, r := range name {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

// foldRune is the smallest rune of r's simple case-folding orbit, in lower case when it is an
// ASCII letter: one representative per orbit.
func foldRune(r rune) rune {
	lowest := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		lowest = min(lowest, f)
	}
	if lowest < utf8.RuneSelf {
		return unicode.ToLower(lowest)
	}
	return lowest
}
