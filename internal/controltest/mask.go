package controltest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/storage"
)

// testRequestsMaskedOnTheWayOut: a webhook request stored with credentials in clear (by a
// version that did not mask a Webhook-Auth-Token, a URL's token or a receiver's Set-Cookie) is
// masked in every reply all the same.
func testRequestsMaskedOnTheWayOut(t *testing.T, st Store) {
	e := newEnv(t, st)
	const (
		token  = "urltoken-0123456789abcdefghijklmnop"
		wat    = "webhook-auth-token-0123456789abcdef"
		cookie = "sid=cookie-0123456789abcdefghijklmnop; Path=/"
		secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	)
	url := "http://old.invalid/hook?token=" + token + "&page=1"
	wr := e.seed(storage.StateRejected, "d1", func(wr *storage.WebhookRequest) {
		wr.URL, wr.Request.URL, wr.SecretKey = url, url, secret
		wr.Request.Headers = map[string]string{"Webhook-Auth-Token": wat, "webhook-id": wr.WebhookID, "Content-Type": "application/json"}
		wr.Response.Headers = map[string]string{"Set-Cookie": cookie, "X-Receiver": "kept"}
	})
	replies := []string{
		string(e.raw("requests.get", `{"number":"`+wr.Number+`"}`)),
		string(e.raw("requests.list", `{}`)),
	}
	for _, raw := range replies {
		for _, s := range []string{token[:20], wat[:20], "cookie-0123456789", "MfKQ9r8GKYqrTwjUPD8ILPZIo2La"} {
			if strings.Contains(raw, s) {
				t.Errorf("a credential in a reply (%s): %s", s, raw)
			}
		}
	}
	var got struct {
		Result struct {
			Item storage.WebhookRequest `json:"item"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(replies[0]), &got); err != nil {
		t.Fatal(err)
	}
	it := got.Result.Item
	if it.URL != "http://old.invalid/hook?token=…mnop&page=1" || it.Request.URL != it.URL || it.SecretKey != "whsec_…LaSw" ||
		it.Request.Headers["webhook-id"] != wr.WebhookID || it.Request.Headers["Webhook-Auth-Token"] != "…cdef" ||
		it.Response == nil || it.Response.Headers["X-Receiver"] != "kept" || it.Response.Headers["Set-Cookie"] != "…th=/" {
		t.Errorf("requests.get = %+v", it)
	}
}
