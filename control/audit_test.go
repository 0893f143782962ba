package control

import (
	"strings"
	"testing"
)

// The audit masks keys the way the command's JSON decoding matches them: case-insensitively.
func TestMaskBodyMatchesKeysAsDecodingDoes(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	const hidden = "MfKQ9r8GKYqrTwjUPD8ILPZIo2La"
	const token = "tok-0123456789abcdefghijklmnop"
	for _, body := range []string{
		`{"user":"ann","webhook_definitions":[{"secret_key":"` + secret + `"}]}`,
		`{"user":"ann","webhook_definitions":[{"SECRET_KEY":"` + secret + `"}]}`,
		`{"user":"ann","webhook_definitions":[{"Secret_Key":"` + secret + `"}]}`,
		`{"user":"ann","webhook_definitions":[{"\u017fecret_key":"` + secret + `"}]}`,
		`{"user":"ann","webhook_definitions":[{"secret_\u212aey":"` + secret + `"}]}`,
		`{"user":"ann","webhook_definitions":[{"HEADERS":{"Webhook-Auth-Token":"` + token + `"}}]}`,
		`{"user":"ann","webhook_definitions":[{"Url":"https://h.example/?token=` + token + `"}]}`,
		`{"user":"ann","webhook_definitions":[{"headers":{"authorization":"Bearer ` + token + `"}}]}`,
	} {
		masked, user := maskBody([]byte(body))
		if user != "ann" {
			t.Errorf("user of %s = %q", body, user)
		}
		if strings.Contains(masked, hidden) || strings.Contains(masked, token) {
			t.Errorf("maskBody(%s) = %s: a secret kept", body, masked)
		}
		if !strings.Contains(masked, "…") {
			t.Errorf("maskBody(%s) = %s: nothing masked", body, masked)
		}
	}
}
