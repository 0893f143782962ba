package delivery_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/delivery"
	"github.com/webhookd/webhookd/webhook"
)

// The result is what is stored and shown: credentials masked in the request's headers and URL
// and in the response's headers (Set-Cookie included), while the receiver gets the values as
// configured.
func TestSendMasksCredentials(t *testing.T) {
	const (
		bearer  = "Bearer bearer-0123456789abcdefghijklmnop"
		apiKey  = "apikey-0123456789abcdefghijklmnop"
		wat     = "webhook-auth-token-0123456789abcdef"
		token   = "urltoken-0123456789abcdefghijklmnop"
		cookie  = "sid=cookie-0123456789abcdefghijklmnop; Path=/; HttpOnly"
		refresh = "refresh-0123456789abcdefghijklmnop"
	)
	got := make(chan captured, 1)
	srv := newReceiver(t, capturing(got, http.StatusOK, "", map[string]string{
		"Set-Cookie": cookie, "X-Refresh-Token": refresh, "X-Receiver": "visible",
	}))
	c := newClient(t, delivery.Options{AllowPrivateNetworks: true})
	a := attempt(srv.URL + "/hook?token=" + token + "&page=2")
	a.Headers = map[string]string{
		"Authorization":      bearer,
		"X-Api-Key":          apiKey,
		"Webhook-Auth-Token": wat,
		"X-Api-Version":      "2",
	}
	res := c.Send(context.Background(), a)
	if res.Outcome != delivery.Success {
		t.Fatalf("result = %v %s %s", res.Outcome, res.ErrorCode, res.ErrorDescription)
	}
	r := <-got
	for name, want := range map[string]string{"Authorization": bearer, "X-Api-Key": apiKey, "Webhook-Auth-Token": wat} {
		if v := r.header.Get(name); v != want {
			t.Errorf("the receiver got %s = %q, want %q", name, v, want)
		}
	}
	stored := res.Request.URL + " " + res.Response.Body
	for _, h := range []map[string]string{res.Request.Headers, res.Response.Headers} {
		for k, v := range h {
			stored += " " + k + ": " + v
		}
	}
	for _, secret := range []string{bearer, apiKey, wat, token, cookie, refresh, "0123456789abcdef"} {
		if strings.Contains(stored, secret) {
			t.Errorf("the result holds %q: %s", secret, stored)
		}
	}
	want := map[string]string{
		"Authorization":      "…mnop",
		"X-Api-Key":          "…mnop",
		"Webhook-Auth-Token": "…cdef",
		"X-Api-Version":      "2",
	}
	for k, v := range want {
		if res.Request.Headers[k] != v {
			t.Errorf("request header %s = %q, want %q", k, res.Request.Headers[k], v)
		}
	}
	for _, k := range []string{webhook.HeaderID, webhook.HeaderTimestamp} {
		if res.Request.Headers[k] == "" || strings.HasPrefix(res.Request.Headers[k], "…") {
			t.Errorf("request header %s = %q, want it readable", k, res.Request.Headers[k])
		}
	}
	if !strings.HasPrefix(res.Request.Headers[webhook.HeaderSignature], "v1,") {
		t.Errorf("webhook-signature = %q, want it readable", res.Request.Headers[webhook.HeaderSignature])
	}
	if res.Response.Headers["Set-Cookie"] != "…Only" || res.Response.Headers["X-Refresh-Token"] != "…mnop" || res.Response.Headers["X-Receiver"] != "visible" {
		t.Errorf("response headers = %v", res.Response.Headers)
	}
	if wantURL := srv.URL + "/hook?token=…mnop&page=2"; res.Request.URL != wantURL {
		t.Errorf("request URL = %q, want %q", res.Request.URL, wantURL)
	}
}
