package redact

import (
	"net/url"
	"strings"
)

// InvalidURL stands for a URL that cannot be parsed, which cannot be masked part by part.
const InvalidURL = "<invalid URL>"

// URL returns raw with its credentials masked: the user info as a whole (%E2%80%A6@, the mask
// escaped since user info must be ASCII; a user without a password is often a token), and the
// values of credential-like query parameters (CredentialName: token, key, secret, signature,
// sig, password, auth, access_token, api_key, X-Amz-Signature, …), in the query and in a
// fragment written as parameters. Everything else stays as it was written. A URL that does not
// parse is InvalidURL.
func URL(raw string) string {
	if raw == "" || raw == InvalidURL {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return InvalidURL
	}
	hasUser := u.User != nil
	u.User = nil
	u.RawQuery = maskQuery(u.RawQuery)
	// The fragment as written: EscapedFragment would re-encode a mask.
	frag, hasFrag := "", false
	if i := strings.IndexByte(raw, '#'); i >= 0 {
		frag, hasFrag = raw[i+1:], true
	}
	u.Fragment, u.RawFragment = "", ""
	s := u.String()
	if hasUser {
		// Escaped (%E2%80%A6): user info must be ASCII to parse again.
		ui := url.User(Mask).String()
		if prefix := u.Scheme + "://"; strings.HasPrefix(s, prefix) {
			s = prefix + ui + "@" + s[len(prefix):]
		} else if strings.HasPrefix(s, "//") {
			s = "//" + ui + "@" + s[2:]
		}
	}
	if hasFrag {
		s += "#" + maskQuery(frag)
	}
	return s
}

// maskQuery masks the values of credential-like parameters of a query (or a fragment) as
// written, keeping every other byte. Both '&' and ';' separate parameters, since receivers
// differ on ';' and a value must not hide behind it.
func maskQuery(q string) string {
	if q == "" {
		return q
	}
	var b strings.Builder
	b.Grow(len(q))
	for q != "" {
		i := strings.IndexAny(q, "&;")
		part, sep := q, ""
		if i >= 0 {
			part, sep, q = q[:i], q[i:i+1], q[i+1:]
		} else {
			q = ""
		}
		// The value as written, escapes included, so the result parses as the same parameters.
		if k, v, ok := strings.Cut(part, "="); ok && v != "" && CredentialName(unescape(k)) {
			part = k + "=" + Value(v)
		}
		b.WriteString(part)
		b.WriteString(sep)
	}
	return b.String()
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}
