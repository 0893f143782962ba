package control

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/redact"
	"github.com/webhookd/webhookd/storage"
)

// FuzzRequestBodies feeds arbitrary bodies to the request parsers: they answer or refuse, never
// panic, and the audit's masking leaves no credential-like key, credential header or URL in
// clear, whatever its case.
func FuzzRequestBodies(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `[]`, `null`, `{"numbers":["WR-0000000001"],"user":"ann"}`, `{"filter":{"state":"rejected"},"user":"a","progress":true}`,
		`{"limit":5,"after":"czE6MTI","filter":{"created_from":"2025-01-01T00:00:00Z"}}`, `{"numbers":7}`, `{"filter":{"created_to":"x"}}`,
		`{"webhook_definitions":[{"secret_key":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw","headers":{"Authorization":"Bearer abcdefghijklmnopq"}}],"user":"x"}`,
		`{"a":{"b":[{"secret_key":{"x":1}}]}}`, "{\"user\":\"\xff\"}",
		`{"webhook_definitions":[{"SECRET_KEY":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}]}`,
		`{"webhook_definitions":[{"Secret_Key":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}]}`,
		"{\"webhook_definitions\":[{\"\u017fecret_key\":\"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"}]}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c := &call{cmd: controlapi.CmdRequestsResend, body: body}
		if b, e := decodeBulk(c, false); e == nil && b.numbers == nil && b.filter.IsEmpty() {
			t.Fatalf("accepted an empty filter: %q", body)
		}
		if b, e := decodeBulk(c, true); e == nil && b.numbers == nil && b.filter.State != storage.StateRejected {
			t.Fatalf("a resend filter selects state %q: %q", b.filter.State, body)
		}
		var lr controlapi.ListRequest
		if e := decode(body, &lr); e == nil {
			_, _ = filterToStorage(lr.Filter)
			_, _ = decodeCursor(lr.After)
		}
		masked, _ := maskBody(body)
		var v any
		if err := json.Unmarshal([]byte(masked), &v); err == nil {
			if path := unmasked(v, ""); path != "" {
				t.Fatalf("audit of %q keeps %s in clear: %s", body, path, masked)
			}
		}
	})
}

// unmasked returns the path of a credential the audit keeps in clear: a string under a
// credential-like key (any case), a credential header's value, or a URL not masked; "" if none.
func unmasked(v any, path string) string {
	switch t := v.(type) {
	case map[string]any:
		for k, val := range t {
			p := path + "." + k
			s, isString := val.(string)
			f := redact.Fold(k)
			switch {
			case f == "headers":
				if h, ok := val.(map[string]any); ok {
					for name, hv := range h {
						if hs, ok := hv.(string); ok && redact.CredentialHeader(name) && !redact.IsMasked(hs) && hs != "" {
							return p + "." + name
						}
					}
					continue
				}
			case strings.HasSuffix(f, "url") && isString:
				if redact.URL(s) != s {
					return p
				}
				continue
			case f == "secret_key" && isString:
				if s != "" && s != redact.Secret(s) {
					return p
				}
				continue
			case redact.CredentialName(k):
				if isString && s != "" && !redact.IsMasked(s) {
					return p
				}
				if !isString && val != nil && val != redact.Mask {
					return p
				}
				continue
			}
			if r := unmasked(val, p); r != "" {
				return r
			}
		}
	case []any:
		for i, e := range t {
			if r := unmasked(e, fmt.Sprintf("%s[%d]", path, i)); r != "" {
				return r
			}
		}
	}
	return ""
}

func FuzzCursor(f *testing.F) {
	f.Add(int64(1))
	f.Add(int64(1234567890))
	f.Fuzz(func(t *testing.T, seq int64) {
		if seq <= 0 {
			if _, err := decodeCursor(encodeCursor(seq)); err == nil {
				t.Fatalf("cursor of %d accepted", seq)
			}
			return
		}
		got, err := decodeCursor(encodeCursor(seq))
		if err != nil || got != seq {
			t.Fatalf("cursor round trip %d: %d, %v", seq, got, err)
		}
	})
}

func BenchmarkEncodeListPage(b *testing.B) {
	now := time.Now().UTC()
	items := make([]json.RawMessage, 50)
	for i := range items {
		wr := &storage.WebhookRequest{Number: storage.FormatNumber(int64(i)), State: storage.StateRejected,
			Entity: "customer", EntityID: "C-1", EventID: "ev", URL: "https://example.com/hook",
			Request:  storage.RequestInfo{Method: "POST", Headers: map[string]string{"Content-Type": "application/json"}, Body: strings.Repeat("b", 1024), SentAt: now},
			Response: &storage.ResponseInfo{Status: 503, Body: strings.Repeat("r", 512)},
			Log:      storage.Log{CreatedAt: now, UpdatedAt: now}}
		items[i], _ = json.Marshal(wr)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeReply(listReply{Items: items, Next: encodeCursor(12345)}, nil); err != nil {
			b.Fatal(err)
		}
	}
}
