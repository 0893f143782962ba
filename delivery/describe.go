package delivery

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/webhookd/webhookd/redact"
)

// describe is the description of an attempt that could not be built.
func describe(err error, a Attempt) string {
	return scrub(err.Error(), a.URL)
}

// describeTransport is the description of an attempt that got no response: where it failed, in
// a few words, never the whole error chain (which repeats the URL).
func describeTransport(code string, err error, a Attempt, timeout time.Duration) string {
	inner := unwrapURLError(err)
	var d string
	switch code {
	case CodeCanceled:
		d = "attempt canceled: webhookd is stopping"
	case CodeDestinationBlocked:
		var be *BlockedError
		if errors.As(err, &be) {
			d = be.Error() + "; " + be.HowToAllow()
		} else {
			d = ErrDestinationBlocked.Error() + "; see --allow-destination"
		}
	case CodeDNSFailed:
		var dnsErr *net.DNSError
		errors.As(err, &dnsErr)
		d = fmt.Sprintf("cannot resolve host %q: %s", dnsErr.Name, dnsErr.Err)
	case CodeTLSFailed:
		d = "TLS with " + hostOf(a.URL) + " failed: " + inner.Error()
	case CodeTimeout:
		d = fmt.Sprintf("no complete response within %s", timeout)
	default:
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			d = "the receiver closed the connection without a complete response"
		} else {
			d = "connection to " + hostOf(a.URL) + " failed: " + inner.Error()
		}
	}
	return scrub(d, a.URL)
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return "the receiver"
}

// scrub masks in s the credentials of rawURL (redact.URL: user info, credential-like query
// parameters), wherever they appear, and caps its length. It is the last step of every
// description, whatever built it.
func scrub(s, rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil {
		red := redact.URL(rawURL)
		s = strings.ReplaceAll(s, rawURL, red)
		s = strings.ReplaceAll(s, u.String(), red)
		var secrets []string
		if u.User != nil {
			secrets = append(secrets, u.User.String(), u.User.Username())
			if p, ok := u.User.Password(); ok {
				secrets = append(secrets, p)
			}
		}
		for _, q := range []string{u.RawQuery, u.EscapedFragment()} {
			for _, part := range strings.FieldsFunc(q, func(r rune) bool { return r == '&' || r == ';' }) {
				k, v, ok := strings.Cut(part, "=")
				if !ok {
					continue
				}
				name, err := url.QueryUnescape(k)
				if err != nil {
					name = k
				}
				if redact.CredentialName(name) {
					secrets = append(secrets, v)
					if uv, err := url.QueryUnescape(v); err == nil {
						secrets = append(secrets, uv)
					}
				}
			}
		}
		for _, sec := range secrets {
			if len(sec) >= 3 { // shorter would mask ordinary words
				s = strings.ReplaceAll(s, sec, redact.Mask)
			}
		}
	}
	if len(s) > maxDescription {
		s = strings.ToValidUTF8(s[:maxDescription], "") + "…"
	}
	return s
}
