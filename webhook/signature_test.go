package webhook_test

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/webhookd/webhookd/webhook"
)

// A published Standard Webhooks test vector (standard-webhooks libraries' test suites and
// the specification's example).
func TestSignKnownVector(t *testing.T) {
	key, err := webhook.DecodeSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := webhook.Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	const want = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func signedHeader(t *testing.T, secret, id string, ts time.Time, body []byte) http.Header {
	t.Helper()
	key, err := webhook.DecodeSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(webhook.HeaderID, id)
	h.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(webhook.HeaderSignature, webhook.Sign(key, id, ts, body))
	return h
}

func TestVerify(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	body := []byte(`{"type":"customer.updated"}`)
	other, err := webhook.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		header func() http.Header
		body   []byte
		want   error // nil: valid
	}{
		{"valid", func() http.Header { return signedHeader(t, contractKey, "msg_1", now, body) }, body, nil},
		{"valid at tolerance", func() http.Header { return signedHeader(t, contractKey, "msg_1", now.Add(-5*time.Minute), body) }, body, nil},
		{"lower-case keys set by hand", func() http.Header {
			h := signedHeader(t, contractKey, "msg_1", now, body)
			return http.Header{
				"webhook-id":        h.Values(webhook.HeaderID),
				"webhook-timestamp": h.Values(webhook.HeaderTimestamp),
				"webhook-signature": h.Values(webhook.HeaderSignature),
			}
		}, body, nil},
		{"several signatures, one matches", func() http.Header {
			h := signedHeader(t, contractKey, "msg_1", now, body)
			h.Set(webhook.HeaderSignature, "v1,Zm9v v2,abc v1a,xyz not-a-sig "+h.Get(webhook.HeaderSignature)+" v1,!!!")
			return h
		}, body, nil},
		{"body changed", func() http.Header { return signedHeader(t, contractKey, "msg_1", now, body) }, []byte(`{"type":"customer.deleted"}`), webhook.ErrNoMatchingSignature},
		{"id changed", func() http.Header {
			h := signedHeader(t, contractKey, "msg_1", now, body)
			h.Set(webhook.HeaderID, "msg_2")
			return h
		}, body, webhook.ErrNoMatchingSignature},
		{"other secret", func() http.Header { return signedHeader(t, other, "msg_1", now, body) }, body, webhook.ErrNoMatchingSignature},
		{"only another version", func() http.Header {
			h := signedHeader(t, contractKey, "msg_1", now, body)
			h.Set(webhook.HeaderSignature, "v1a,"+h.Get(webhook.HeaderSignature)[3:])
			return h
		}, body, webhook.ErrNoMatchingSignature},
		{"too old", func() http.Header { return signedHeader(t, contractKey, "msg_1", now.Add(-6*time.Minute), body) }, body, webhook.ErrTimestampTooOld},
		{"too new", func() http.Header { return signedHeader(t, contractKey, "msg_1", now.Add(6*time.Minute), body) }, body, webhook.ErrTimestampTooNew},
		{"timestamp not a number", func() http.Header {
			h := signedHeader(t, contractKey, "msg_1", now, body)
			h.Set(webhook.HeaderTimestamp, "2023-11-14T22:13:20Z")
			return h
		}, body, webhook.ErrInvalidTimestamp},
		{"timestamp signed", func() http.Header {
			h := signedHeader(t, contractKey, "msg_1", now, body)
			h.Set(webhook.HeaderTimestamp, "+1700000000")
			return h
		}, body, webhook.ErrInvalidTimestamp},
		{"timestamp overflows", func() http.Header {
			h := signedHeader(t, contractKey, "msg_1", now, body)
			h.Set(webhook.HeaderTimestamp, "9999999999999999999")
			return h
		}, body, webhook.ErrInvalidTimestamp},
		{"timestamp with a leading zero is signed as received", func() http.Header {
			h := signedHeader(t, contractKey, "msg_1", now, body)
			h.Set(webhook.HeaderTimestamp, "0"+h.Get(webhook.HeaderTimestamp))
			return h
		}, body, webhook.ErrNoMatchingSignature},
		{"no id", func() http.Header {
			h := signedHeader(t, contractKey, "msg_1", now, body)
			h.Del(webhook.HeaderID)
			return h
		}, body, webhook.ErrMissingHeader},
		{"no signature", func() http.Header {
			h := signedHeader(t, contractKey, "msg_1", now, body)
			h.Del(webhook.HeaderSignature)
			return h
		}, body, webhook.ErrMissingHeader},
		{"no timestamp", func() http.Header {
			h := signedHeader(t, contractKey, "msg_1", now, body)
			h.Del(webhook.HeaderTimestamp)
			return h
		}, body, webhook.ErrMissingHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := webhook.Verify(contractKey, tt.header(), tt.body, now, 5*time.Minute)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyBadSecret(t *testing.T) {
	err := webhook.Verify("whsec_short", http.Header{}, nil, time.Now(), 0)
	if !errors.Is(err, webhook.ErrInvalidSecret) {
		t.Fatalf("Verify = %v, want ErrInvalidSecret", err)
	}
}

func TestVerifyDefaultTolerance(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	h := signedHeader(t, contractKey, "msg_1", now.Add(-4*time.Minute), nil)
	if err := webhook.Verify(contractKey, h, nil, now, 0); err != nil {
		t.Fatalf("4m old with the default tolerance: %v", err)
	}
	h = signedHeader(t, contractKey, "msg_1", now.Add(-6*time.Minute), nil)
	if err := webhook.Verify(contractKey, h, nil, now, 0); !errors.Is(err, webhook.ErrTimestampTooOld) {
		t.Fatalf("6m old with the default tolerance: %v", err)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("msg_1", "1700000000", "v1,abc", []byte("{}"))
	f.Add("", "", "", []byte(nil))
	f.Add("msg_1", "00000000000000000001700000000", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,", []byte("x"))
	now := time.Unix(1_700_000_000, 0)
	key, _ := webhook.DecodeSecret(contractKey)
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set(webhook.HeaderID, id)
		h.Set(webhook.HeaderTimestamp, ts)
		h.Set(webhook.HeaderSignature, sig)
		err := webhook.Verify(contractKey, h, body, now, time.Hour)
		if err == nil && sig == "" {
			t.Fatal("verified without a signature")
		}
		// A correct signature over the fuzzed parts must verify when the timestamp is in range.
		sec, perr := strconv.ParseInt(ts, 10, 64)
		if perr != nil || id == "" || strconv.FormatInt(sec, 10) != ts || sec < now.Unix()-3600 || sec > now.Unix()+3600 {
			return
		}
		h.Set(webhook.HeaderSignature, webhook.Sign(key, id, time.Unix(sec, 0), body))
		if h.Get(webhook.HeaderID) != id {
			return // net/http trims or rejects some values; not a signature matter
		}
		if err := webhook.Verify(contractKey, h, body, now, time.Hour); err != nil {
			t.Fatalf("own signature rejected: %v", err)
		}
	})
}

func BenchmarkSign(b *testing.B) {
	key, err := webhook.DecodeSecret(contractKey)
	if err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 2048)
	ts := time.Unix(1_700_000_000, 0)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		_ = webhook.Sign(key, "msg_p5jxn8aqm9lwm0d4lokwxjek", ts, body)
	}
}

func BenchmarkVerify(b *testing.B) {
	key, err := webhook.DecodeSecret(contractKey)
	if err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 2048)
	ts := time.Unix(1_700_000_000, 0)
	h := http.Header{}
	h.Set(webhook.HeaderID, "msg_1")
	h.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(webhook.HeaderSignature, webhook.Sign(key, "msg_1", ts, body))
	b.ReportAllocs()
	for b.Loop() {
		if err := webhook.Verify(contractKey, h, body, ts, 0); err != nil {
			b.Fatal(err)
		}
	}
}
