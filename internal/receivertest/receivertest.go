// Package receivertest is the webhook receiver of webhookd's tests, written once: an HTTP server
// on loopback that records every request, checks its signature when given the secret, and
// answers with the status the test chooses (by default 200, a header X-Receiver: test and the
// body {"n":N}, N counting the requests from 1). A test can hold requests until it releases
// them, and learn of each arrival without polling.
package receivertest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webhookd/webhookd/webhook"
)

// Receiver is a webhook receiver on loopback. It stops when the test ends.
type Receiver struct {
	URL string
	// Arrived gets one value per request as it arrives, before a Hold makes it wait. It holds
	// the first 1024 that nobody has read; later ones are not sent.
	Arrived chan struct{}

	secret string
	answer func(n int, r *http.Request) int
	status atomic.Int32
	count  atomic.Int64
	gate   atomic.Pointer[chan struct{}]

	mu  sync.Mutex
	got []Request
}

// Request is one request a Receiver got.
type Request struct {
	Header http.Header
	Body   []byte
	Err    error // the signature check's, with Verify; nil without
}

// Option configures a Receiver.
type Option func(*Receiver)

// Verify checks each request's signature with secret; Request.Err says the outcome.
func Verify(secret string) Option { return func(rc *Receiver) { rc.secret = secret } }

// Answer has the n-th request (1-based) answered with the status f returns, instead of the one
// SetStatus set.
func Answer(f func(n int, r *http.Request) int) Option { return func(rc *Receiver) { rc.answer = f } }

// New starts a receiver.
func New(t testing.TB, opts ...Option) *Receiver {
	t.Helper()
	rc := &Receiver{Arrived: make(chan struct{}, 1024)}
	rc.status.Store(http.StatusOK)
	for _, o := range opts {
		o(rc)
	}
	srv := httptest.NewServer(http.HandlerFunc(rc.serve))
	rc.URL = srv.URL
	t.Cleanup(srv.Close)
	return rc
}

func (rc *Receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	n := int(rc.count.Add(1))
	var err error
	if rc.secret != "" {
		err = webhook.Verify(rc.secret, r.Header, body, time.Now(), 5*time.Minute)
	}
	rc.mu.Lock()
	rc.got = append(rc.got, Request{Header: r.Header.Clone(), Body: body, Err: err})
	rc.mu.Unlock()
	select {
	case rc.Arrived <- struct{}{}:
	default:
	}
	if g := rc.gate.Load(); g != nil {
		select {
		case <-*g:
		case <-r.Context().Done():
		}
	}
	status := int(rc.status.Load())
	if rc.answer != nil {
		status = rc.answer(n, r)
	}
	w.Header().Set("X-Receiver", "test")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"n":%d}`, n)
}

// SetStatus sets the status of the answers from now on (without Answer).
func (rc *Receiver) SetStatus(code int) { rc.status.Store(int32(code)) }

// Hold makes every request wait, once recorded, until release is called (or its client gives
// up). release may be called more than once.
func (rc *Receiver) Hold() (release func()) {
	gate := make(chan struct{})
	rc.gate.Store(&gate)
	var once sync.Once
	return func() {
		once.Do(func() {
			rc.gate.CompareAndSwap(&gate, nil)
			close(gate)
		})
	}
}

// Count is the number of requests so far.
func (rc *Receiver) Count() int64 { return rc.count.Load() }

// Requests returns the requests received so far, in order.
func (rc *Receiver) Requests() []Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}
