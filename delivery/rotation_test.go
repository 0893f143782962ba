package delivery_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/webhookd/webhookd/delivery"
	"github.com/webhookd/webhookd/webhook"
)

const previousSecret = "whsec_T3RoZXIga2V5IGZvciByb3RhdGlvbiB0ZXN0cw=="

// TestSendSignsWithThePreviousKeyToo: an attempt with a previous key carries two v1 signatures,
// the new key's first, and a receiver using the Standard Webhooks library verifies it with
// either key; without one, only the current key verifies.
func TestSendSignsWithThePreviousKeyToo(t *testing.T) {
	got := make(chan captured, 1)
	srv := newReceiver(t, capturing(got, http.StatusNoContent, "", nil))
	c := newClient(t, delivery.Options{AllowPrivateNetworks: true})
	verifies := func(h http.Header, body []byte, key string) bool {
		t.Helper()
		wh, err := standardwebhooks.NewWebhook(key)
		if err != nil {
			t.Fatal(err)
		}
		return wh.Verify(body, h) == nil
	}
	for _, tc := range []struct {
		name         string
		previous     string
		sigs         int
		prevVerifies bool
	}{
		{"during the grace", previousSecret, 2, true},
		{"after it", "", 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := attempt(srv.URL)
			a.PreviousSecretKey = tc.previous
			if res := c.Send(t.Context(), a); res.Outcome != delivery.Success {
				t.Fatalf("Send: %+v", res)
			}
			r := <-got
			sig := r.header.Get(webhook.HeaderSignature)
			parts := strings.Split(sig, " ")
			if len(parts) != tc.sigs {
				t.Fatalf("webhook-signature %q has %d signatures, want %d", sig, len(parts), tc.sigs)
			}
			key, _ := webhook.DecodeSecret(testSecret)
			if !strings.HasPrefix(parts[0], "v1,") {
				t.Errorf("first signature %q is not v1", parts[0])
			}
			if !verifies(r.header, r.body, testSecret) {
				t.Errorf("the current key does not verify %q", sig)
			}
			if got := verifies(r.header, r.body, previousSecret); got != tc.prevVerifies {
				t.Errorf("the previous key verifies: %v, want %v", got, tc.prevVerifies)
			}
			// The new key's signature comes first.
			wantFirst := webhook.Sign(key, r.header.Get(webhook.HeaderID), unix(t, r.header.Get(webhook.HeaderTimestamp)), r.body)
			if parts[0] != wantFirst {
				t.Errorf("first signature %q, want the current key's %q", parts[0], wantFirst)
			}
			// Our own Verify agrees.
			if err := webhook.Verify(previousSecret, r.header, r.body, time.Now(), 0); (err == nil) != tc.prevVerifies {
				t.Errorf("webhook.Verify with the previous key: %v", err)
			}
		})
	}
}

func TestSendInvalidPreviousKey(t *testing.T) {
	c := newClient(t, delivery.Options{AllowPrivateNetworks: true})
	a := attempt("http://127.0.0.1:1/")
	a.PreviousSecretKey = "whsec_short"
	res := c.Send(t.Context(), a)
	if res.Outcome != delivery.Reject || res.ErrorCode != delivery.CodeInvalidSecret || !strings.Contains(res.ErrorDescription, "previous secret key") {
		t.Errorf("Send with a malformed previous key: %+v", res)
	}
}

func unix(t *testing.T, s string) time.Time {
	t.Helper()
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("webhook-timestamp %q: %v", s, err)
	}
	return time.Unix(sec, 0)
}
