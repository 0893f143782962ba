package redact_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/webhookd/webhookd/redact"
)

const contractKey = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"x", "…"},
		{strings.Repeat("a", 23), "…"},
		{strings.Repeat("a", 20) + "WXYZ", "…WXYZ"},
		{"Bearer 0123456789abcdefghijklmnop", "…mnop"},
		// Runes, not bytes: 23 two-byte runes are too short, and the last 4 are whole runes.
		{strings.Repeat("é", 23), "…"},
		{strings.Repeat("é", 20) + "ü€😀ß", "…ü€😀ß"},
		// Already masked: unchanged, so masking twice is masking once.
		{"…", "…"},
		{"…LaSw", "…LaSw"},
		{"…😀😀😀😀", "…😀😀😀😀"},
		// A value that starts with the mask but is longer is a value like any other.
		{"…" + strings.Repeat("s", 30), "…ssss"},
		// Invalid UTF-8 comes out valid.
		{strings.Repeat("a", 30) + "\xff\xfe", "…aa\uFFFD"},
	}
	for _, tt := range tests {
		got := redact.Value(tt.in)
		if got != tt.want {
			t.Errorf("Value(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("Value(%q) = %q is not valid UTF-8", tt.in, got)
		}
	}
}

func TestSecret(t *testing.T) {
	tests := []struct{ in, want string }{
		{contractKey, "whsec_…LaSw"},
		{"", ""},
		{"whsec_", "whsec_…"},
		{"whsec_abcd", "whsec_…"},
		{"whsec_" + strings.Repeat("x", 23), "whsec_…"},
		{"whsec_" + strings.Repeat("x", 20) + "1234", "whsec_…1234"},
		{"whsec_…LaSw", "whsec_…LaSw"},
		{"not-a-key", "…"},
		{strings.Repeat("y", 40) + "WXYZ", "…WXYZ"},
		{"whsec_" + strings.Repeat("é", 30) + "ü", "whsec_…éééü"},
	}
	for _, tt := range tests {
		if got := redact.Secret(tt.in); got != tt.want {
			t.Errorf("Secret(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCredentialHeader(t *testing.T) {
	tests := []struct {
		name   string
		masked bool
	}{
		{"Authorization", true},
		{"authorization", true},
		{"Proxy-Authorization", true},
		{"Cookie", true},
		{"Set-Cookie", true},
		{"set-cookie", true},
		{"Set-Cookie2", true},
		{"X-Api-Key", true},
		{"Api-Key", true},
		{"X-Auth-Token", true},
		{"X-Access-Token", true},
		{"X-Refresh-Token", true},
		{"X-Csrf-Token", true},
		{"X-Amz-Security-Token", true},
		{"X-Client-Secret", true},
		{"X-Hub-Signature-256", true},
		{"X-Password", true},
		{"X-Passwd", true},
		{"X-Session-Id", true},
		{"X-Credential", true},
		{"WWW-Authenticate", true},
		{"Authentication-Info", true},
		{"X-Jwt-Assertion", true},
		// Any webhook-* name but the three of webhookd's own.
		{"Webhook-Auth-Token", true},
		{"webhook-secret", true},
		{"Webhook-Key", true},
		{"webhook-id", false},
		{"Webhook-Id", false},
		{"webhook-timestamp", false},
		{"webhook-signature", false},
		{"WEBHOOK-SIGNATURE", false},
		// Folded like encoding/json: the Kelvin sign is a k, a long s an s.
		{"X-Api-\u212Aey", true},
		{"X-\u017Fecret", true},
		// Not credentials.
		{"Content-Type", false},
		{"User-Agent", false},
		{"X-Api-Version", false},
		{"Accept", false},
		{"X-Request-Id", false},
		{"Retry-After", false},
		{"X-Receiver", false},
	}
	for _, tt := range tests {
		if got := redact.CredentialHeader(tt.name); got != tt.masked {
			t.Errorf("CredentialHeader(%q) = %v, want %v", tt.name, got, tt.masked)
		}
	}
}

func TestHeaders(t *testing.T) {
	long := "0123456789abcdefghijklmnopqrstuvwxyz"
	in := map[string]string{
		"Authorization":      "Bearer " + long,
		"X-Api-Key":          "short",
		"Webhook-Auth-Token": long,
		"webhook-signature":  "v1,abc",
		"webhook-id":         "msg_1",
		"Set-Cookie":         "session=" + long + "; Path=/; HttpOnly",
		"X-Api-Version":      "2",
	}
	got := redact.Headers(in)
	want := map[string]string{
		"Authorization":      "…wxyz",
		"X-Api-Key":          "…",
		"Webhook-Auth-Token": "…wxyz",
		"webhook-signature":  "v1,abc",
		"webhook-id":         "msg_1",
		"Set-Cookie":         "…Only",
		"X-Api-Version":      "2",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if in["X-Api-Key"] != "short" {
		t.Error("Headers changed its argument")
	}
	if redact.Headers(nil) != nil {
		t.Error("Headers(nil) is not nil")
	}
}

func TestURL(t *testing.T) {
	long := "tok_0123456789abcdefghijklmn" // 28 characters
	tests := []struct{ in, want string }{
		{"", ""},
		{"https://erp.example.com/hooks/crm", "https://erp.example.com/hooks/crm"},
		{"https://erp.example.com/hooks?x=1&y=2", "https://erp.example.com/hooks?x=1&y=2"},
		{"https://h.example/?token=" + long, "https://h.example/?token=…klmn"},
		{"https://h.example/?token=abc&x=1", "https://h.example/?token=…&x=1"},
		{"https://h.example/?key=a&secret=b&signature=c&sig=d&password=e&auth=f&pass=g&pwd=h",
			"https://h.example/?key=…&secret=…&signature=…&sig=…&password=…&auth=…&pass=…&pwd=…"},
		{"https://h.example/?access_token=a&api_key=b&apikey=c&client_secret=d&refresh_token=e",
			"https://h.example/?access_token=…&api_key=…&apikey=…&client_secret=…&refresh_token=…"},
		// Presigned URLs (S3, GCS): the signature, credential and token parameters.
		{"https://b.s3.amazonaws.com/o?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20260101&X-Amz-Signature=abc&X-Amz-Security-Token=t",
			"https://b.s3.amazonaws.com/o?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=…&X-Amz-Signature=…&X-Amz-Security-Token=…"},
		// Names in any case and escaped; ';' separates too.
		{"https://h.example/?TOKEN=a&Api%5FKey=b", "https://h.example/?TOKEN=…&Api%5FKey=…"},
		{"https://h.example/?a=1;token=secret", "https://h.example/?a=1;token=…"},
		// A parameter without a value, or an empty one, has nothing to hide.
		{"https://h.example/?token&key=", "https://h.example/?token&key="},
		// Repeated parameters: every value.
		{"https://h.example/?token=a&token=b", "https://h.example/?token=…&token=…"},
		// User info, as a whole: a user alone is often a token.
		{"https://user:pw@h.example/x", "https://%E2%80%A6@h.example/x"},
		{"https://ghp_abcdef@h.example/x", "https://%E2%80%A6@h.example/x"},
		// A fragment written as parameters.
		{"https://h.example/cb#access_token=abc&state=1", "https://h.example/cb#access_token=…&state=1"},
		{"https://h.example/cb#section", "https://h.example/cb#section"},
		// Already masked: unchanged.
		{"https://h.example/?token=…klmn&x=1", "https://h.example/?token=…klmn&x=1"},
		{"https://%E2%80%A6@h.example/", "https://%E2%80%A6@h.example/"},
		{"://bad", redact.InvalidURL},
	}
	for _, tt := range tests {
		got := redact.URL(tt.in)
		if got != tt.want {
			t.Errorf("URL(%q)\n = %q\nwant %q", tt.in, got, tt.want)
		}
		if again := redact.URL(got); again != got {
			t.Errorf("URL(URL(%q)) = %q, want %q", tt.in, again, got)
		}
	}
}

func TestJSON(t *testing.T) {
	long := "0123456789abcdefghijklmnopqrstuvwxyz"
	body := `{
		"user": "ops",
		"Secret_Key": "` + contractKey + `",
		"webhook_definitions": [{
			"id": "a",
			"SECRET_KEY": "` + contractKey + `",
			"\u017Fecret_key": "` + contractKey + `",
			"URL": "https://h.example/?token=` + long + `&x=1",
			"Headers": {"Authorization": "Bearer ` + long + `", "X-Api-Version": "2", "X-Api-Key": 42, "webhook-id": "msg_1"},
			"password": "hunter2",
			"token": {"nested": "value"},
			"callback_url": "https://u:p@h.example/",
			"name": "visible"
		}],
		"secret_key_id": null
	}`
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(redact.JSON(v))
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, leak := range []string{contractKey, "MfKQ9r8GKYqrTwjUPD8ILPZIo2La", long, "hunter2", `"nested"`, "u:p@", "42"} {
		if strings.Contains(s, leak) {
			t.Errorf("masked JSON holds %q: %s", leak, s)
		}
	}
	for _, keep := range []string{`"user":"ops"`, `"name":"visible"`, `"X-Api-Version":"2"`, `"webhook-id":"msg_1"`, "whsec_…LaSw", `x=1`, `"secret_key_id":null`} {
		if !strings.Contains(s, keep) {
			t.Errorf("masked JSON lacks %s: %s", keep, s)
		}
	}
}

func TestFold(t *testing.T) {
	for _, pair := range [][2]string{
		{"secret_key", "SECRET_KEY"},
		{"secret_key", "Secret_Key"},
		{"secret_key", "\u017Fecret_\u212Aey"},
		{"headers", "HEADERS"},
	} {
		if redact.Fold(pair[0]) != redact.Fold(pair[1]) {
			t.Errorf("Fold(%q) = %q, Fold(%q) = %q", pair[0], redact.Fold(pair[0]), pair[1], redact.Fold(pair[1]))
		}
		if !strings.EqualFold(pair[0], pair[1]) {
			t.Errorf("the test pair %q is not EqualFold", pair)
		}
	}
	if redact.Fold("\u212A") != "k" {
		t.Errorf("Fold(Kelvin sign) = %q", redact.Fold("\u212A"))
	}
}

// FuzzFold: Fold agrees with strings.EqualFold, as encoding/json's key matching does.
func FuzzFold(f *testing.F) {
	f.Add("secret_key", "SECRET_KEY")
	f.Add("\u017Fecret", "Secret")
	f.Add("\u212A", "k")
	f.Add("ß", "SS")
	f.Fuzz(func(t *testing.T, a, b string) {
		if !utf8.ValidString(a) || !utf8.ValidString(b) {
			return
		}
		if eq, folded := strings.EqualFold(a, b), redact.Fold(a) == redact.Fold(b); eq != folded {
			t.Fatalf("EqualFold(%q, %q) = %v, but Fold gives %q and %q", a, b, eq, redact.Fold(a), redact.Fold(b))
		}
	})
}

// FuzzURL: URL never panics, is idempotent, and leaves no credential parameter's value nor a
// password of 4 characters or more in what it returns.
func FuzzURL(f *testing.F) {
	f.Add("https://user:pw@h.example:8443/a?token=abcdef&x=1#access_token=zzzzzz")
	f.Add("https://h.example/?a=1;key=value")
	f.Add("http://h.example/%zz?token=%E2%80%A6")
	f.Add("https://h.example/?X-Amz-Signature=0123456789abcdef0123456789abcdef")
	f.Fuzz(func(t *testing.T, raw string) {
		got := redact.URL(raw)
		if again := redact.URL(got); again != got {
			t.Fatalf("URL(%q) = %q, but URL of that = %q", raw, got, again)
		}
		u, err := url.Parse(raw)
		if err != nil {
			if got != redact.InvalidURL && raw != "" {
				t.Fatalf("URL(%q) = %q for an unparsable URL", raw, got)
			}
			return
		}
		// A password that appears nowhere else in the URL must be gone.
		if p, ok := u.User.Password(); ok && len(p) >= 4 && strings.Contains(got, p) &&
			!strings.Contains(u.Scheme+u.User.Username()+u.Host+u.RawPath+u.Path+u.RawQuery+raw[strings.Index(raw, "@")+1:], p) {
			t.Fatalf("URL(%q) = %q keeps the password", raw, got)
		}
		for _, part := range strings.FieldsFunc(u.RawQuery, func(r rune) bool { return r == '&' || r == ';' }) {
			k, v, ok := strings.Cut(part, "=")
			if !ok || len(v) < 24 || redact.IsMasked(v) {
				continue
			}
			name, err := url.QueryUnescape(k)
			if err != nil {
				name = k
			}
			if redact.CredentialName(name) && strings.Contains(got, v) {
				t.Fatalf("URL(%q) = %q keeps the value of %s", raw, got, k)
			}
		}
	})
}

// FuzzValue: a mask is valid UTF-8, at most the mask and 4 characters, idempotent, and shows
// nothing of a value shorter than 24 characters.
func FuzzValue(f *testing.F) {
	f.Add("")
	f.Add("Bearer 0123456789abcdefghijklmnop")
	f.Add("…abcd")
	f.Fuzz(func(t *testing.T, v string) {
		m := redact.Value(v)
		if v == "" {
			if m != "" {
				t.Fatalf("Value(\"\") = %q", m)
			}
			return
		}
		if !utf8.ValidString(m) || !redact.IsMasked(m) {
			t.Fatalf("Value(%q) = %q is not a mask", v, m)
		}
		if redact.Value(m) != m {
			t.Fatalf("Value(Value(%q)) = %q, want %q", v, redact.Value(m), m)
		}
		if !redact.IsMasked(v) && utf8.RuneCountInString(v) < 24 && m != redact.Mask {
			t.Fatalf("Value(%q) = %q shows part of a short value", v, m)
		}
	})
}
