package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names of the Standard Webhooks signature, lower case as the specification writes them.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// signatureVersion prefixes each signature: v1 is HMAC-SHA256.
const signatureVersion = "v1"

// DefaultTolerance is how far a webhook-timestamp may be from the receiver's clock, the
// specification's recommendation. It bounds how long a captured request can be replayed.
const DefaultTolerance = 5 * time.Minute

// Errors of Verify, checked with errors.Is.
var (
	ErrMissingHeader       = errors.New("missing webhook header")
	ErrInvalidTimestamp    = errors.New("invalid webhook-timestamp")
	ErrTimestampTooOld     = errors.New("webhook-timestamp too old")
	ErrTimestampTooNew     = errors.New("webhook-timestamp too new")
	ErrNoMatchingSignature = errors.New("no matching webhook signature")
)

// Sign returns the webhook-signature value of a request: "v1," and the base64 HMAC-SHA256,
// keyed with key (a decoded secret, see DecodeSecret), over "<webhookID>.<unix seconds>.<body>".
func Sign(key []byte, webhookID string, ts time.Time, body []byte) string {
	var tsBuf [20]byte
	mac := sum(key, webhookID, strconv.AppendInt(tsBuf[:0], ts.Unix(), 10), body)
	out := make([]byte, 0, len(signatureVersion)+1+base64.StdEncoding.EncodedLen(len(mac)))
	out = append(out, signatureVersion...)
	out = append(out, ',')
	out = base64.StdEncoding.AppendEncode(out, mac)
	return string(out)
}

// SignAll returns the webhook-signature value signed with each key in turn, space separated, as
// during a secret rotation (CONTRACT.md section 3): the new key first, then the previous one, so
// a receiver that knows either verifies the request.
func SignAll(keys [][]byte, webhookID string, ts time.Time, body []byte) string {
	sigs := make([]string, len(keys))
	for i, k := range keys {
		sigs[i] = Sign(k, webhookID, ts, body)
	}
	return strings.Join(sigs, " ")
}

// sum signs the timestamp as bytes so that Verify can sign exactly what it received.
func sum(key []byte, webhookID string, ts, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	_, _ = io.WriteString(h, webhookID)
	h.Write([]byte{'.'})
	h.Write(ts)
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a received request's Standard Webhooks headers against secretKey (whsec_…):
// webhook-id must be present, webhook-timestamp must be Unix seconds within tolerance of now
// (DefaultTolerance when tolerance <= 0), and one of the space-separated signatures in
// webhook-signature must be a v1 signature that matches, compared in constant time. Signatures
// of other versions are ignored, so a sender may add them during a migration.
func Verify(secretKey string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := DecodeSecret(secretKey)
	if err != nil {
		return fmt.Errorf("verify webhook: %w", err)
	}
	id, ts, sigs := header(h, HeaderID), header(h, HeaderTimestamp), header(h, HeaderSignature)
	for _, hv := range [...][2]string{{HeaderID, id}, {HeaderTimestamp, ts}, {HeaderSignature, sigs}} {
		if hv[1] == "" {
			return fmt.Errorf("verify webhook: %w %s", ErrMissingHeader, hv[0])
		}
	}
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if len(ts) > 19 || strings.TrimLeft(ts, "0123456789") != "" {
		return fmt.Errorf("verify webhook: %w: %q is not Unix seconds", ErrInvalidTimestamp, ts)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("verify webhook: %w: %q: %w", ErrInvalidTimestamp, ts, err)
	}
	sent := time.Unix(sec, 0)
	switch {
	case now.Sub(sent) > tolerance:
		return fmt.Errorf("verify webhook: %w: %s is more than %s before %s", ErrTimestampTooOld, ts, tolerance, now.UTC().Format(time.RFC3339))
	case sent.Sub(now) > tolerance:
		return fmt.Errorf("verify webhook: %w: %s is more than %s after %s", ErrTimestampTooNew, ts, tolerance, now.UTC().Format(time.RFC3339))
	}
	want := sum(key, id, []byte(ts), body)
	for sig := range strings.FieldsSeq(sigs) {
		version, enc, ok := strings.Cut(sig, ",")
		if !ok || version != signatureVersion {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("verify webhook %q: %w", id, ErrNoMatchingSignature)
}

// header finds name whether h was filled by net/http (canonical keys) or by hand with the
// specification's lower-case names.
func header(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	if vs := h[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}
