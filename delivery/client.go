package delivery

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/redact"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/webhook"
)

// Options configure a Client. The zero value is a production client that refuses private
// destinations.
type Options struct {
	// AllowDestinations lets attempts reach the CIDRs and host names it lists although Blocked
	// refuses them (--allow-destination). A cloud metadata address stays refused unless it is
	// itself an entry.
	AllowDestinations *AllowList
	// AllowPrivateNetworks lets attempts reach loopback, private, link-local and the other
	// addresses Blocked refuses (--allow-private-networks), cloud metadata addresses excepted:
	// those only AllowDestinations opens, by naming them.
	AllowPrivateNetworks bool
	// UserAgent is sent on every request; default "webhookd/<module version>".
	UserAgent string
	// MaxIdleConnsPerHost bounds the kept-alive connections to one receiver; default 32, the
	// default max_in_flight of a definition, so a busy definition keeps all its connections.
	MaxIdleConnsPerHost int
	// MaxIdleConns bounds the kept-alive connections to all receivers; default 1024.
	MaxIdleConns int
	// IdleConnTimeout closes a kept-alive connection unused for this long; default 90s.
	IdleConnTimeout time.Duration
	// TLSConfig, when set, is cloned for connections to receivers (for example to trust a
	// private CA). Default: the system roots, TLS 1.2 or later.
	TLSConfig *tls.Config
	// Now replaces time.Now for webhook-timestamp, sent_at and Retry-After dates; for tests.
	Now func() time.Time
}

// Default transport limits.
const (
	DefaultMaxIdleConnsPerHost = 32
	DefaultMaxIdleConns        = 1024
	DefaultIdleConnTimeout     = 90 * time.Second
	// maxResponseHeaderBytes bounds what a receiver can make us hold in headers, which are stored.
	maxResponseHeaderBytes = 256 << 10
	// maxDrain is read past the stored body so the connection can be reused; a receiver that
	// sends more than that costs a new connection instead of unbounded reading.
	maxDrain = 1 << 20
	// maxDescription caps an error description, which is stored and logged.
	maxDescription = 512
)

// Client sends attempts. It is safe for concurrent use; one Client (one connection pool)
// serves every definition.
type Client struct {
	hc        *http.Client
	transport *http.Transport
	userAgent string
	now       func() time.Time
}

// NewClient returns a Client. HTTP proxies from the environment are not used: the
// destination guard checks every address actually dialled, after DNS, which through a proxy
// would be the proxy's. Redirects are not followed: a 3xx is the receiver's answer, so no
// Location can lead an attempt past the guard.
func NewClient(opts Options) *Client {
	g := &guard{allow: opts.AllowDestinations, private: opts.AllowPrivateNetworks}
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, ControlContext: g.control}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		// The guard's hook sees the resolved address only; the host name rides in the context.
		return dialer.DialContext(context.WithValue(ctx, dialHostKey{}, hostOfAddr(addr)), network, addr)
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if opts.TLSConfig != nil {
		tlsConfig = opts.TLSConfig.Clone()
	}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            dial,
		TLSClientConfig:        tlsConfig,
		ForceAttemptHTTP2:      true, // needed for HTTP/2 with a custom dialer and TLS config
		MaxIdleConns:           orDefault(opts.MaxIdleConns, DefaultMaxIdleConns),
		MaxIdleConnsPerHost:    orDefault(opts.MaxIdleConnsPerHost, DefaultMaxIdleConnsPerHost),
		IdleConnTimeout:        orDefault(opts.IdleConnTimeout, DefaultIdleConnTimeout),
		TLSHandshakeTimeout:    10 * time.Second,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
		// The stored response is the bytes as received, and the request headers as recorded
		// are all that was sent: no transparent Accept-Encoding.
		DisableCompression: true,
	}
	ua := opts.UserAgent
	if ua == "" {
		ua = "webhookd/" + moduleVersion()
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Client{
		hc: &http.Client{
			Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		transport: tr,
		userAgent: ua,
		now:       now,
	}
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

func moduleVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// CloseIdleConnections closes the kept-alive connections; call it when the Client is done.
func (c *Client) CloseIdleConnections() { c.transport.CloseIdleConnections() }

// Attempt is one HTTP attempt of a delivery.
type Attempt struct {
	WebhookID string            // the delivery's stable webhook-id
	Method    string            // default POST
	URL       string            // absolute http or https URL
	Headers   map[string]string // the definition's headers; ours override them
	SecretKey string            // whsec_…
	Body      []byte
	Timeout   time.Duration // the whole attempt, response body included; default 10s

	// PreviousSecretKey, when set, signs too, after SecretKey: a secret rotation's grace is
	// running (config.Definition.PreviousSecretAt), and receivers may know either key.
	PreviousSecretKey string
}

// Result is what an attempt did and what it means.
type Result struct {
	Outcome Outcome
	// ErrorCode and ErrorDescription are empty on Success. The description is short, meant
	// for people, and holds no secret: URLs in it lose their user info and query.
	ErrorCode        string
	ErrorDescription string
	// RetryAfter is the receiver's Retry-After (seconds or HTTP date), 0 when absent or invalid.
	RetryAfter time.Duration
	// Request is the request as sent, headers joined with ", ", masked by package redact since
	// webhook requests are stored and shown: the values of credential headers and of the URL's
	// credential-like query parameters. webhook-id, webhook-timestamp and webhook-signature stay
	// readable (the signature is an HMAC of this request, not the secret).
	Request storage.RequestInfo
	// Response is nil when no response came. Its body is at most storage.MaxResponseBody bytes,
	// made valid UTF-8; Truncated says it was cut or could not be read to the end. The values of
	// its credential headers (Set-Cookie among them) are masked like the request's.
	Response *storage.ResponseInfo
	// Duration runs from sending the request to reading the response body; 0 if not sent.
	Duration time.Duration
}

// requestError is a fault of the attempt itself, found before anything is sent.
type requestError struct {
	code string
	err  error
}

func (e *requestError) Error() string { return e.err.Error() }
func (e *requestError) Unwrap() error { return e.err }

// Send makes one attempt. It never returns an error: every failure is a Result. When ctx
// ends before a response arrives the Result is Retry with CodeCanceled, which says nothing
// about the receiver; once the status is in, it decides, even if ctx ends while the body is read.
func (c *Client) Send(ctx context.Context, a Attempt) Result {
	method := a.Method
	if method == "" {
		method = config.DefaultMethod
	}
	sentAt := c.now()
	res := Result{Request: storage.RequestInfo{
		Method:  method,
		URL:     redact.URL(a.URL),
		Headers: map[string]string{},
		Body:    string(a.Body),
		SentAt:  sentAt.UTC(),
	}}
	req, err := c.newRequest(method, a, sentAt)
	if err != nil {
		res.Outcome, res.ErrorCode = Classify(0, err)
		res.ErrorDescription = describe(err, a)
		return res
	}
	res.Request.Headers = maskedHeaders(req.Header)

	timeout := a.Timeout
	if timeout <= 0 {
		timeout = config.DefaultTimeout
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req = req.WithContext(actx)

	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		res.Duration = time.Since(start)
		if ctx.Err() != nil {
			err = fmt.Errorf("attempt stopped by the caller: %w", context.Canceled)
		}
		res.Outcome, res.ErrorCode = Classify(0, err)
		res.ErrorDescription = describeTransport(res.ErrorCode, err, a, timeout)
		return res
	}
	body, truncated := readBody(resp.Body)
	res.Duration = time.Since(start)
	res.Response = &storage.ResponseInfo{
		Status:     resp.StatusCode,
		Headers:    maskedHeaders(resp.Header),
		Body:       body,
		Truncated:  truncated,
		DurationMS: res.Duration.Milliseconds(),
	}
	res.Outcome, res.ErrorCode = Classify(resp.StatusCode, nil)
	if res.Outcome != Success {
		// Our own status text: the receiver's reason phrase is arbitrary text.
		res.ErrorDescription = strings.TrimSpace(fmt.Sprintf("receiver answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode)))
		if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
			res.ErrorDescription += " (redirects are not followed)"
		}
	}
	if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), c.now()); ok {
		res.RetryAfter = d
	}
	return res
}

// newRequest checks and builds the request; its errors are *requestError.
func (c *Client) newRequest(method string, a Attempt, ts time.Time) (*http.Request, error) {
	u, err := url.Parse(a.URL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, which may hold credentials
		}
		return nil, &requestError{CodeInvalidURL, fmt.Errorf("invalid URL: %w", err)}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, &requestError{CodeInvalidURL, fmt.Errorf("invalid URL: scheme %q is not http or https", u.Scheme)}
	}
	if u.Hostname() == "" {
		return nil, &requestError{CodeInvalidURL, errors.New("invalid URL: no host")}
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
			return nil, &requestError{CodeInvalidURL, fmt.Errorf("invalid URL: port %q is not 1 to 65535", p)}
		}
	}
	key, err := webhook.DecodeSecret(a.SecretKey)
	if err != nil {
		return nil, &requestError{CodeInvalidSecret, err}
	}
	keys := [][]byte{key}
	if a.PreviousSecretKey != "" {
		prev, err := webhook.DecodeSecret(a.PreviousSecretKey)
		if err != nil {
			return nil, &requestError{CodeInvalidSecret, fmt.Errorf("previous secret key: %w", err)}
		}
		keys = append(keys, prev)
	}
	if a.WebhookID == "" || !config.ValidHeaderValue(a.WebhookID) {
		return nil, &requestError{CodeInvalidRequest, fmt.Errorf("webhook-id %q is empty or holds a control character", a.WebhookID)}
	}
	h := make(http.Header, len(a.Headers)+6)
	for name, v := range a.Headers {
		if !config.ValidHeaderName(name) {
			return nil, &requestError{CodeInvalidRequest, fmt.Errorf("header name %q is not a valid HTTP token", name)}
		}
		if !config.ValidHeaderValue(v) {
			// The value may be a credential: name the header only.
			return nil, &requestError{CodeInvalidRequest, fmt.Errorf("value of header %q holds a control character", name)}
		}
		name = http.CanonicalHeaderKey(name)
		if transportOwned[name] {
			continue // net/http writes these itself; recording them would misstate what was sent
		}
		h[name] = []string{v}
	}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", c.userAgent)
	// The specification's lower-case names, sent as written; Del removes any spelling the
	// definition used.
	for name, v := range map[string]string{
		webhook.HeaderID:        a.WebhookID,
		webhook.HeaderTimestamp: strconv.FormatInt(ts.Unix(), 10),
		webhook.HeaderSignature: webhook.SignAll(keys, a.WebhookID, ts, a.Body),
	} {
		h.Del(name)
		h[name] = []string{v}
	}
	req, err := http.NewRequest(method, a.URL, bytes.NewReader(a.Body))
	if err != nil {
		return nil, &requestError{CodeInvalidRequest, fmt.Errorf("method %q: %w", method, unwrapURLError(err))}
	}
	req.Header = h
	return req, nil
}

var transportOwned = map[string]bool{"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Trailer": true}

// readBody keeps up to storage.MaxResponseBody bytes, made valid UTF-8, drains a bounded rest so
// the connection can be reused, and closes the body.
func readBody(rc io.ReadCloser) (string, bool) {
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, storage.MaxResponseBody+1))
	truncated := err != nil
	if len(b) > storage.MaxResponseBody {
		b, truncated = b[:storage.MaxResponseBody], true
		_, _ = io.CopyN(io.Discard, rc, maxDrain)
	}
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
		// A replacement character takes 3 bytes, more than the byte it may replace: cut again.
		if len(s) > storage.MaxResponseBody {
			s, truncated = storage.CapBody(s, storage.MaxResponseBody), true
		}
	}
	return s, truncated
}

func joinHeaders(h http.Header) map[string]string {
	m := make(map[string]string, len(h))
	for k, vs := range h {
		m[k] = strings.Join(vs, ", ")
	}
	return m
}

// maskedHeaders is h as stored: joined, credential values masked (redact.Header).
func maskedHeaders(h http.Header) map[string]string {
	m := joinHeaders(h)
	for k, v := range m {
		m[k] = redact.Header(k, v)
	}
	return m
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
