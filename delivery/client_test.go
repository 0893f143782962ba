package delivery_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/webhookd/webhookd/delivery"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/webhook"
)

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

var testBody = []byte(`{"type":"customer.updated","timestamp":"2024-05-01T10:20:30Z","data":{"fields":{"n":12345678901234567890}}}`)

// receiver is an httptest server that counts the connections clients open to it.
type receiver struct {
	*httptest.Server
	newConns atomic.Int64
}

func newReceiver(t testing.TB, h http.HandlerFunc) *receiver {
	t.Helper()
	r := &receiver{Server: httptest.NewUnstartedServer(h)}
	r.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			r.newConns.Add(1)
		}
	}
	r.Config.ErrorLog = log.New(io.Discard, "", 0) // TLS tests fail handshakes on purpose
	r.Start()
	t.Cleanup(r.Close)
	return r
}

func newClient(t testing.TB, opts delivery.Options) *delivery.Client {
	t.Helper()
	c := delivery.NewClient(opts)
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func attempt(url string) delivery.Attempt {
	return delivery.Attempt{
		WebhookID: "msg_test1",
		URL:       url,
		SecretKey: testSecret,
		Body:      testBody,
		Timeout:   10 * time.Second,
	}
}

// captured is what a receiver saw of one request.
type captured struct {
	method string
	header http.Header
	body   []byte
	proto  int
	host   string
}

func capturing(ch chan<- captured, status int, respBody string, respHeader map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- captured{method: r.Method, header: r.Header.Clone(), body: b, proto: r.ProtoMajor, host: r.Host}
		for k, v := range respHeader {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, respBody)
	}
}

func TestSendSuccessSignedAndVerifiable(t *testing.T) {
	got := make(chan captured, 1)
	srv := newReceiver(t, capturing(got, http.StatusAccepted, `{"ok":true}`, map[string]string{"X-Receiver": "r1"}))
	c := newClient(t, delivery.Options{AllowPrivateNetworks: true, UserAgent: "webhookd/1.2.3"})

	before := time.Now()
	res := c.Send(context.Background(), attempt(srv.URL+"/hooks/crm?x=1"))
	if res.Outcome != delivery.Success || res.ErrorCode != "" || res.ErrorDescription != "" {
		t.Fatalf("result = %v %q %q, want success", res.Outcome, res.ErrorCode, res.ErrorDescription)
	}
	r := <-got
	if err := webhook.Verify(testSecret, r.header, r.body, time.Now(), 0); err != nil {
		t.Fatalf("receiver cannot verify the request: %v", err)
	}
	if r.method != http.MethodPost {
		t.Errorf("method = %s, want POST by default", r.method)
	}
	if !bytes.Equal(r.body, testBody) {
		t.Errorf("body = %s, want %s", r.body, testBody)
	}
	if v := r.header.Values("Content-Type"); len(v) != 1 || v[0] != "application/json" {
		t.Errorf("Content-Type = %q, want exactly application/json", v)
	}
	if v := r.header.Get("User-Agent"); v != "webhookd/1.2.3" {
		t.Errorf("User-Agent = %q", v)
	}
	if v := r.header.Get(webhook.HeaderID); v != "msg_test1" {
		t.Errorf("webhook-id = %q", v)
	}
	ts, err := strconv.ParseInt(r.header.Get(webhook.HeaderTimestamp), 10, 64)
	if err != nil || ts < before.Unix() || ts > time.Now().Unix() {
		t.Errorf("webhook-timestamp = %q, want the Unix seconds of the attempt", r.header.Get(webhook.HeaderTimestamp))
	}

	// The result records the request as sent and the response as received.
	req := res.Request
	if req.Method != "POST" || req.URL != srv.URL+"/hooks/crm?x=1" || req.Body != string(testBody) {
		t.Errorf("request = %+v", req)
	}
	if req.SentAt.Before(before.Add(-time.Second)) || req.SentAt.Location() != time.UTC {
		t.Errorf("sent_at = %v", req.SentAt)
	}
	for _, name := range []string{"Content-Type", "User-Agent", "webhook-id", "webhook-timestamp", "webhook-signature"} {
		if want := r.header.Get(name); req.Headers[name] != want {
			t.Errorf("recorded header %s = %q, sent %q (recorded: %v)", name, req.Headers[name], want, req.Headers)
		}
	}
	resp := res.Response
	if resp == nil {
		t.Fatal("no response recorded")
	}
	if resp.Status != http.StatusAccepted || resp.Body != `{"ok":true}` || resp.Truncated || resp.Headers["X-Receiver"] != "r1" {
		t.Errorf("response = %+v", resp)
	}
	if res.Duration <= 0 || resp.DurationMS != res.Duration.Milliseconds() {
		t.Errorf("duration = %v, duration_ms = %d", res.Duration, resp.DurationMS)
	}
}

func TestSendHeaders(t *testing.T) {
	got := make(chan captured, 1)
	srv := newReceiver(t, capturing(got, http.StatusOK, "", nil))
	c := newClient(t, delivery.Options{AllowPrivateNetworks: true})
	a := attempt(srv.URL)
	a.Method = http.MethodPut
	a.Headers = map[string]string{
		"X-Api-Version":     "2",
		"x-lower":           "kept",
		"Content-Type":      "text/plain; charset=utf-8",
		"user-agent":        "impostor",
		"WEBHOOK-ID":        "msg_forged",
		"Webhook-Signature": "v1,forged",
		"Host":              "evil.example",
		"Content-Length":    "1",
		"Authorization":     "Bearer very-secret-token-1234",
		"X-Api-Key":         "k3y-that-is-secret",
		"X-Client-Key":      "another-k3y-that-is-secret",
	}
	res := c.Send(context.Background(), a)
	if res.Outcome != delivery.Success {
		t.Fatalf("result = %v %s %s", res.Outcome, res.ErrorCode, res.ErrorDescription)
	}
	r := <-got
	if r.method != http.MethodPut {
		t.Errorf("method = %s, want PUT", r.method)
	}
	for name, want := range map[string]string{
		"X-Api-Version": "2",
		"X-Lower":       "kept",
		"Content-Type":  "application/json",
		"Authorization": "Bearer very-secret-token-1234",
		"X-Api-Key":     "k3y-that-is-secret",
	} {
		if v := r.header.Values(name); len(v) != 1 || v[0] != want {
			t.Errorf("received %s = %q, want %q", name, v, want)
		}
	}
	if ua := r.header.Get("User-Agent"); !strings.HasPrefix(ua, "webhookd/") {
		t.Errorf("User-Agent = %q, want webhookd/<version>", ua)
	}
	if v := r.header.Values(webhook.HeaderID); len(v) != 1 || v[0] != "msg_test1" {
		t.Errorf("webhook-id = %q", v)
	}
	if err := webhook.Verify(testSecret, r.header, r.body, time.Now(), 0); err != nil {
		t.Errorf("forged signature header was not replaced: %v", err)
	}
	if r.host == "evil.example" {
		t.Error("Host header from the definition was sent")
	}
	rec := res.Request.Headers
	if _, ok := rec["Host"]; ok {
		t.Errorf("recorded a Host header that was not sent: %v", rec)
	}
	// Stored masked by the one masking replies use too (package redact).
	for _, name := range []string{"Authorization", "X-Api-Key", "X-Client-Key"} {
		if v := rec[name]; strings.Contains(v, "secret") || !strings.HasPrefix(v, "…") {
			t.Errorf("recorded %s = %q, want it masked", name, v)
		}
	}
	if rec["X-Api-Version"] != "2" || rec["Content-Type"] != "application/json" || !strings.HasPrefix(rec[webhook.HeaderSignature], "v1,") {
		t.Errorf("recorded headers = %v", rec)
	}
}

// The signature headers go on the wire with the specification's lower-case names (net/http
// servers canonicalise what they read, so this needs a raw listener).
func TestSendHeaderNamesOnTheWire(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	raw := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			raw <- err.Error()
			return
		}
		defer conn.Close()
		var buf bytes.Buffer
		chunk := make([]byte, 4096)
		for !bytes.Contains(buf.Bytes(), []byte("\r\n\r\n")) {
			n, err := conn.Read(chunk)
			buf.Write(chunk[:n])
			if err != nil {
				break
			}
		}
		raw <- buf.String()
		_, _ = io.WriteString(conn, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
	}()
	c := newClient(t, delivery.Options{AllowPrivateNetworks: true})
	res := c.Send(context.Background(), attempt("http://"+ln.Addr().String()+"/"))
	head := <-raw
	if res.Outcome != delivery.Success {
		t.Fatalf("result = %v %s %s", res.Outcome, res.ErrorCode, res.ErrorDescription)
	}
	for _, want := range []string{"\r\nwebhook-id: msg_test1\r\n", "\r\nwebhook-timestamp: ", "\r\nwebhook-signature: v1,", "\r\nContent-Type: application/json\r\n"} {
		if !strings.Contains(head, want) {
			t.Errorf("request head lacks %q:\n%s", want, head)
		}
	}
}

func TestSendStatuses(t *testing.T) {
	tests := []struct {
		status     int
		header     map[string]string
		outcome    delivery.Outcome
		code       string
		retryAfter time.Duration
	}{
		{http.StatusOK, nil, delivery.Success, "", 0},
		{http.StatusNoContent, nil, delivery.Success, "", 0},
		{http.StatusServiceUnavailable, nil, delivery.Retry, "HTTP_503", 0},
		{http.StatusInternalServerError, nil, delivery.Retry, "HTTP_500", 0},
		{http.StatusRequestTimeout, nil, delivery.Retry, "HTTP_408", 0},
		{http.StatusTooManyRequests, map[string]string{"Retry-After": "7"}, delivery.Retry, "HTTP_429", 7 * time.Second},
		{http.StatusServiceUnavailable, map[string]string{"Retry-After": "Wed, 01 May 2024 10:02:00 GMT"}, delivery.Retry, "HTTP_503", 2 * time.Minute},
		{http.StatusServiceUnavailable, map[string]string{"Retry-After": "later"}, delivery.Retry, "HTTP_503", 0},
		{http.StatusBadRequest, nil, delivery.Reject, "HTTP_400", 0},
		{http.StatusUnauthorized, nil, delivery.Reject, "HTTP_401", 0},
		{http.StatusNotFound, nil, delivery.Reject, "HTTP_404", 0},
		{http.StatusGone, nil, delivery.Reject, "HTTP_410", 0},
	}
	now := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	c := newClient(t, delivery.Options{AllowPrivateNetworks: true, Now: func() time.Time { return now }})
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			srv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, "answer")
			})
			res := c.Send(context.Background(), attempt(srv.URL))
			if res.Outcome != tt.outcome || res.ErrorCode != tt.code || res.RetryAfter != tt.retryAfter {
				t.Fatalf("result = %v %q retry-after %v, want %v %q %v", res.Outcome, res.ErrorCode, res.RetryAfter, tt.outcome, tt.code, tt.retryAfter)
			}
			if res.Response == nil || res.Response.Status != tt.status {
				t.Fatalf("response = %+v", res.Response)
			}
			if tt.outcome != delivery.Success && !strings.Contains(res.ErrorDescription, strconv.Itoa(tt.status)) {
				t.Errorf("description %q does not name the status", res.ErrorDescription)
			}
			if res.Request.SentAt != now {
				t.Errorf("sent_at = %v, want the injected clock", res.Request.SentAt)
			}
		})
	}
}

func TestSendRedirectNotFollowed(t *testing.T) {
	var followed atomic.Int64
	target := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) { followed.Add(1) })
	srv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusMovedPermanently)
	})
	c := newClient(t, delivery.Options{AllowPrivateNetworks: true})
	res := c.Send(context.Background(), attempt(srv.URL))
	if res.Outcome != delivery.Reject || res.ErrorCode != "HTTP_301" {
		t.Fatalf("result = %v %q, want rejected HTTP_301", res.Outcome, res.ErrorCode)
	}
	if res.Response == nil || res.Response.Headers["Location"] != target.URL {
		t.Fatalf("response = %+v", res.Response)
	}
	if n := followed.Load(); n != 0 {
		t.Fatalf("redirect followed %d times", n)
	}
}

// blockUntilGone answers only when the client has gone away or the test ends. It reads the
// body first: net/http notices a closed connection only once the body is consumed.
// Register release as a cleanup after the server's, so that it runs before the server's Close,
// which waits for handlers.
func blockUntilGone(arrived chan<- struct{}) (h http.HandlerFunc, release func()) {
	ch := make(chan struct{})
	return func(_ http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if arrived != nil {
			close(arrived)
		}
		select {
		case <-r.Context().Done():
		case <-ch:
		}
	}, func() { close(ch) }
}

func TestSendTimeout(t *testing.T) {
	h, release := blockUntilGone(nil)
	srv := newReceiver(t, h)
	t.Cleanup(release)
	c := newClient(t, delivery.Options{AllowPrivateNetworks: true})
	a := attempt(srv.URL)
	a.Timeout = 50 * time.Millisecond
	res := c.Send(context.Background(), a)
	if res.Outcome != delivery.Retry || res.ErrorCode != delivery.CodeTimeout {
		t.Fatalf("result = %v %q (%s), want retry TIMEOUT", res.Outcome, res.ErrorCode, res.ErrorDescription)
	}
	if res.Response != nil {
		t.Fatalf("response = %+v, want none", res.Response)
	}
	if res.ErrorDescription != "no complete response within 50ms" {
		t.Errorf("description = %q", res.ErrorDescription)
	}
}

func TestSendCanceledByCaller(t *testing.T) {
	arrived := make(chan struct{})
	h, release := blockUntilGone(arrived)
	srv := newReceiver(t, h)
	t.Cleanup(release)
	c := newClient(t, delivery.Options{AllowPrivateNetworks: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-arrived
		cancel()
	}()
	res := c.Send(ctx, attempt(srv.URL))
	if res.Outcome != delivery.Retry || res.ErrorCode != delivery.CodeCanceled {
		t.Fatalf("result = %v %q, want retry CANCELED", res.Outcome, res.ErrorCode)
	}
}

func TestSendConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, delivery.Options{AllowPrivateNetworks: true})
	res := c.Send(context.Background(), attempt("http://alice:pa55w0rd@"+addr+"/hook?token=t0psecret#frag"))
	if res.Outcome != delivery.Retry || res.ErrorCode != delivery.CodeConnectionFailed {
		t.Fatalf("result = %v %q (%s), want retry CONNECTION_FAILED", res.Outcome, res.ErrorCode, res.ErrorDescription)
	}
	for _, secret := range []string{"pa55w0rd", "t0psecret", "alice"} {
		if strings.Contains(res.ErrorDescription, secret) {
			t.Errorf("description %q reveals %q", res.ErrorDescription, secret)
		}
	}
	if !strings.Contains(res.ErrorDescription, "refused") {
		t.Errorf("description %q does not say the connection was refused", res.ErrorDescription)
	}
}

func TestSendConnectionClosedWithoutResponse(t *testing.T) {
	srv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
	})
	c := newClient(t, delivery.Options{AllowPrivateNetworks: true})
	res := c.Send(context.Background(), attempt(srv.URL))
	if res.Outcome != delivery.Retry || res.ErrorCode != delivery.CodeConnectionFailed {
		t.Fatalf("result = %v %q (%s), want retry CONNECTION_FAILED", res.Outcome, res.ErrorCode, res.ErrorDescription)
	}
}

func TestSendResponseBodyTruncated(t *testing.T) {
	big := strings.Repeat("x", storage.MaxResponseBody+1000)
	srv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, big) })
	c := newClient(t, delivery.Options{AllowPrivateNetworks: true})
	for range 3 {
		res := c.Send(context.Background(), attempt(srv.URL))
		if res.Outcome != delivery.Success || res.Response == nil {
			t.Fatalf("result = %+v", res)
		}
		if !res.Response.Truncated || len(res.Response.Body) != storage.MaxResponseBody {
			t.Fatalf("truncated = %v, len = %d; want true, %d", res.Response.Truncated, len(res.Response.Body), storage.MaxResponseBody)
		}
	}
	// The rest was drained, so the connection was reused.
	if n := srv.newConns.Load(); n != 1 {
		t.Fatalf("%d connections for 3 attempts, want 1", n)
	}
}

func TestSendResponseBodyExactlyAtTheCap(t *testing.T) {
	body := strings.Repeat("y", storage.MaxResponseBody)
	srv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, body) })
	c := newClient(t, delivery.Options{AllowPrivateNetworks: true})
	res := c.Send(context.Background(), attempt(srv.URL))
	if res.Response == nil || res.Response.Truncated || res.Response.Body != body {
		t.Fatalf("a body of exactly the cap: truncated = %v, len = %d", res.Response.Truncated, len(res.Response.Body))
	}
}

func TestSendResponseBodyMadeValidUTF8(t *testing.T) {
	srv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte{'o', 'k', 0xff, 0xfe}) })
	c := newClient(t, delivery.Options{AllowPrivateNetworks: true})
	res := c.Send(context.Background(), attempt(srv.URL))
	if res.Response == nil || res.Response.Body != "ok\uFFFD" {
		t.Fatalf("body = %q", res.Response.Body)
	}
}

// Replacement characters are longer than the bytes they replace; the body still fits the cap.
func TestSendResponseBodyInvalidUTF8StaysUnderTheCap(t *testing.T) {
	body := bytes.Repeat([]byte{'a', 0xff}, storage.MaxResponseBody/2)
	srv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(body) })
	c := newClient(t, delivery.Options{AllowPrivateNetworks: true})
	res := c.Send(context.Background(), attempt(srv.URL))
	if res.Response == nil || len(res.Response.Body) > storage.MaxResponseBody || !res.Response.Truncated ||
		!utf8.ValidString(res.Response.Body) || !strings.HasPrefix(res.Response.Body, "a\uFFFDa\uFFFD") {
		t.Fatalf("len = %d, truncated = %v, valid = %v", len(res.Response.Body), res.Response.Truncated, utf8.ValidString(res.Response.Body))
	}
}

func TestSendReusesConnections(t *testing.T) {
	srv := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	})
	c := newClient(t, delivery.Options{AllowPrivateNetworks: true})
	for i := range 5 {
		if res := c.Send(context.Background(), attempt(srv.URL)); res.Outcome != delivery.Success {
			t.Fatalf("attempt %d: %v %s %s", i, res.Outcome, res.ErrorCode, res.ErrorDescription)
		}
	}
	if n := srv.newConns.Load(); n != 1 {
		t.Fatalf("%d connections for 5 sequential attempts, want 1", n)
	}
}

func TestSendTLSUntrusted(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	c := newClient(t, delivery.Options{AllowPrivateNetworks: true})
	res := c.Send(context.Background(), attempt(srv.URL))
	if res.Outcome != delivery.Retry || res.ErrorCode != delivery.CodeTLSFailed {
		t.Fatalf("result = %v %q (%s), want retry TLS_FAILED", res.Outcome, res.ErrorCode, res.ErrorDescription)
	}
	if !strings.Contains(res.ErrorDescription, "certificate") {
		t.Errorf("description %q does not mention the certificate", res.ErrorDescription)
	}
}

func TestSendTLSPlainHTTPServer(t *testing.T) {
	srv := newReceiver(t, func(http.ResponseWriter, *http.Request) {})
	c := newClient(t, delivery.Options{AllowPrivateNetworks: true})
	res := c.Send(context.Background(), attempt(strings.Replace(srv.URL, "http://", "https://", 1)))
	if res.ErrorCode != delivery.CodeTLSFailed {
		t.Fatalf("https to a plain HTTP server: %v %q (%s), want TLS_FAILED", res.Outcome, res.ErrorCode, res.ErrorDescription)
	}
}

func TestSendTLSTrustedHTTP2(t *testing.T) {
	got := make(chan captured, 3)
	srv := httptest.NewUnstartedServer(capturing(got, http.StatusOK, "ok", nil))
	srv.EnableHTTP2 = true
	var conns atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	c := newClient(t, delivery.Options{AllowPrivateNetworks: true, TLSConfig: &tls.Config{RootCAs: pool}})
	for range 3 {
		res := c.Send(context.Background(), attempt(srv.URL))
		if res.Outcome != delivery.Success {
			t.Fatalf("result = %v %q (%s)", res.Outcome, res.ErrorCode, res.ErrorDescription)
		}
		r := <-got
		if r.proto != 2 {
			t.Fatalf("protocol HTTP/%d, want HTTP/2", r.proto)
		}
		if err := webhook.Verify(testSecret, r.header, r.body, time.Now(), 0); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for 3 attempts over HTTP/2, want 1", n)
	}
}

func TestSendDNSFailed(t *testing.T) {
	c := newClient(t, delivery.Options{})
	res := c.Send(context.Background(), attempt("https://nonexistent.invalid/hook"))
	if res.Outcome != delivery.Retry || res.ErrorCode != delivery.CodeDNSFailed {
		t.Fatalf("result = %v %q (%s), want retry DNS_FAILED", res.Outcome, res.ErrorCode, res.ErrorDescription)
	}
	if !strings.Contains(res.ErrorDescription, "nonexistent.invalid") {
		t.Errorf("description %q does not name the host", res.ErrorDescription)
	}
}

func TestSendDestinationBlocked(t *testing.T) {
	srv := newReceiver(t, func(http.ResponseWriter, *http.Request) {})
	port := strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	c := newClient(t, delivery.Options{})
	for _, url := range []string{
		srv.URL,
		"http://localhost:" + port,
		"http://[::1]:" + port,
		"http://[::ffff:127.0.0.1]:" + port,
		"http://0.0.0.0:" + port,
		"http://169.254.169.254/latest/meta-data/",
		"http://10.0.0.1/",
		"http://192.0.2.1/",
		"http://[64:ff9b::7f00:1]:" + port,
	} {
		t.Run(url, func(t *testing.T) {
			res := c.Send(context.Background(), attempt(url))
			if res.Outcome != delivery.Reject || res.ErrorCode != delivery.CodeDestinationBlocked {
				t.Fatalf("result = %v %q (%s), want rejected DESTINATION_BLOCKED", res.Outcome, res.ErrorCode, res.ErrorDescription)
			}
			if !strings.Contains(res.ErrorDescription, "--allow-destination ") {
				t.Errorf("description %q does not say how to allow it", res.ErrorDescription)
			}
		})
	}
	if n := srv.newConns.Load(); n != 0 {
		t.Fatalf("the receiver saw %d connections", n)
	}
	// The description names the address and the host, never the URL's secret parts.
	res := c.Send(context.Background(), attempt("http://alice:pa55w0rd-xyz@localhost:"+port+"/hook?token=t0psecret-abcdef&page=2"))
	for _, secret := range []string{"pa55w0rd-xyz", "t0psecret-abcdef", "alice"} {
		if strings.Contains(res.ErrorDescription, secret) {
			t.Errorf("description %q reveals %q", res.ErrorDescription, secret)
		}
	}
	if !strings.Contains(res.ErrorDescription, "--allow-destination localhost") {
		t.Errorf("description %q does not offer the host name", res.ErrorDescription)
	}
	// The same receiver is reachable once private networks are allowed.
	allowed := newClient(t, delivery.Options{AllowPrivateNetworks: true})
	for _, url := range []string{srv.URL, "http://localhost:" + port} {
		if res := allowed.Send(context.Background(), attempt(url)); res.Outcome != delivery.Success {
			t.Fatalf("%s with AllowPrivateNetworks: %v %q (%s)", url, res.Outcome, res.ErrorCode, res.ErrorDescription)
		}
	}
}

// A metadata address stays blocked under --allow-private-networks and an allowed CIDR that
// holds it: the dial is refused before any packet is sent.
func TestSendMetadataBlockedUnlessNamed(t *testing.T) {
	wide, err := delivery.ParseAllowList([]string{"169.254.0.0/16", "fd00::/8"})
	if err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string]delivery.Options{
		"private networks":   {AllowPrivateNetworks: true},
		"CIDR that holds it": {AllowDestinations: wide},
	} {
		c := newClient(t, opts)
		for _, url := range []string{"http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/latest/meta-data/", "http://[::ffff:169.254.169.254]/"} {
			res := c.Send(context.Background(), attempt(url))
			if res.ErrorCode != delivery.CodeDestinationBlocked || !strings.Contains(res.ErrorDescription, "metadata") ||
				!strings.Contains(res.ErrorDescription, "the address itself") {
				t.Errorf("%s, %s: %v %q (%s), want DESTINATION_BLOCKED as metadata", name, url, res.Outcome, res.ErrorCode, res.ErrorDescription)
			}
		}
	}
}

// --allow-destination opens what it names and nothing else: the receiver's address or a CIDR
// that holds it, or the URL's host name (every address it resolves to), never the same
// receiver under another name; and a redirect cannot lead past it (none is followed).
func TestSendAllowDestination(t *testing.T) {
	var hits atomic.Int64
	srv := newReceiver(t, func(http.ResponseWriter, *http.Request) { hits.Add(1) })
	port := strconv.Itoa(srv.Listener.Addr().(*net.TCPAddr).Port)
	byIP := "http://127.0.0.1:" + port + "/hook"
	byName := "http://localhost:" + port + "/hook"
	tests := []struct {
		allow   []string
		url     string
		success bool
	}{
		{[]string{"127.0.0.1"}, byIP, true},
		{[]string{"127.0.0.0/8"}, byIP, true},
		{[]string{"127.0.0.2"}, byIP, false},
		{[]string{"10.0.0.0/8"}, byIP, false},
		{[]string{"localhost"}, byIP, false}, // the URL names the address, not the host
		{[]string{"LocalHost."}, byName, true},
		{[]string{"127.0.0.0/8"}, byName, true}, // ::1 refused, 127.0.0.1 dialled
		{[]string{"other.example"}, byName, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.allow, ",")+" "+tt.url, func(t *testing.T) {
			allow, err := delivery.ParseAllowList(tt.allow)
			if err != nil {
				t.Fatal(err)
			}
			c := newClient(t, delivery.Options{AllowDestinations: allow})
			before := hits.Load()
			res := c.Send(context.Background(), attempt(tt.url))
			if tt.success {
				if res.Outcome != delivery.Success || hits.Load() != before+1 {
					t.Fatalf("result = %v %q (%s), want success", res.Outcome, res.ErrorCode, res.ErrorDescription)
				}
				return
			}
			if res.ErrorCode != delivery.CodeDestinationBlocked || hits.Load() != before {
				t.Fatalf("result = %v %q (%s), want DESTINATION_BLOCKED", res.Outcome, res.ErrorCode, res.ErrorDescription)
			}
		})
	}

	// A redirect from an allowed receiver to a blocked one is the receiver's answer.
	var followed atomic.Int64
	target := newReceiver(t, func(http.ResponseWriter, *http.Request) { followed.Add(1) })
	redirector := newReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusFound)
	})
	allow, err := delivery.ParseAllowList([]string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, delivery.Options{AllowDestinations: allow})
	rport := strconv.Itoa(redirector.Listener.Addr().(*net.TCPAddr).Port)
	res := c.Send(context.Background(), attempt("http://localhost:"+rport+"/"))
	if res.ErrorCode != "HTTP_302" || followed.Load() != 0 || target.newConns.Load() != 0 {
		t.Fatalf("redirect: %v %q (%s), target hit %d times", res.Outcome, res.ErrorCode, res.ErrorDescription, followed.Load())
	}
}

func TestSendInvalidAttempt(t *testing.T) {
	c := newClient(t, delivery.Options{AllowPrivateNetworks: true})
	tests := []struct {
		name   string
		change func(*delivery.Attempt)
		code   string
		hidden string // must not appear in the description
	}{
		{"ftp", func(a *delivery.Attempt) { a.URL = "ftp://example.com/x" }, delivery.CodeInvalidURL, ""},
		{"no host", func(a *delivery.Attempt) { a.URL = "http:///x" }, delivery.CodeInvalidURL, ""},
		{"port zero", func(a *delivery.Attempt) { a.URL = "http://example.com:0/" }, delivery.CodeInvalidURL, ""},
		{"port only", func(a *delivery.Attempt) { a.URL = "http://:80/" }, delivery.CodeInvalidURL, ""},
		{"relative", func(a *delivery.Attempt) { a.URL = "/hooks" }, delivery.CodeInvalidURL, ""},
		{"empty", func(a *delivery.Attempt) { a.URL = "" }, delivery.CodeInvalidURL, ""},
		{"unparsable, with credentials", func(a *delivery.Attempt) { a.URL = "http://bob:s3cr3tpw@exa mple.com/" }, delivery.CodeInvalidURL, "s3cr3tpw"},
		{"bad port, with a query", func(a *delivery.Attempt) { a.URL = "http://example.com:99999999999/?key=qu3ry" }, delivery.CodeInvalidURL, "qu3ry"},
		{"bad secret", func(a *delivery.Attempt) { a.SecretKey = "whsec_tooshortsecretvalue" }, delivery.CodeInvalidSecret, "tooshortsecretvalue"},
		{"no secret", func(a *delivery.Attempt) { a.SecretKey = "" }, delivery.CodeInvalidSecret, ""},
		{"bad header name", func(a *delivery.Attempt) { a.Headers = map[string]string{"Bad Header": "x"} }, delivery.CodeInvalidRequest, ""},
		{"bad header value", func(a *delivery.Attempt) { a.Headers = map[string]string{"X-Token": "abc\r\nInjected: secr3tval"} }, delivery.CodeInvalidRequest, "secr3tval"},
		{"no webhook-id", func(a *delivery.Attempt) { a.WebhookID = "" }, delivery.CodeInvalidRequest, ""},
		{"bad method", func(a *delivery.Attempt) { a.Method = "PO ST" }, delivery.CodeInvalidRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := attempt("http://example.com/")
			tt.change(&a)
			res := c.Send(context.Background(), a)
			if res.Outcome != delivery.Reject || res.ErrorCode != tt.code {
				t.Fatalf("result = %v %q (%s), want rejected %s", res.Outcome, res.ErrorCode, res.ErrorDescription, tt.code)
			}
			if res.ErrorDescription == "" {
				t.Error("no description")
			}
			if tt.hidden != "" && strings.Contains(res.ErrorDescription, tt.hidden) {
				t.Errorf("description %q reveals %q", res.ErrorDescription, tt.hidden)
			}
			if res.Response != nil || res.Duration != 0 {
				t.Errorf("an attempt that was not sent has a response or a duration: %+v", res)
			}
		})
	}
}

func BenchmarkSend(b *testing.B) {
	srv := newReceiver(b, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	c := newClient(b, delivery.Options{AllowPrivateNetworks: true})
	a := attempt(srv.URL)
	a.Headers = map[string]string{"X-Api-Version": "2"}
	b.ReportAllocs()
	for b.Loop() {
		if res := c.Send(context.Background(), a); res.Outcome != delivery.Success {
			b.Fatalf("%v %s %s", res.Outcome, res.ErrorCode, res.ErrorDescription)
		}
	}
}
