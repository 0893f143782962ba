package controltest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/control"
	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/internal/fakedeliverer"
	"github.com/webhookd/webhookd/internal/natstest"
	"github.com/webhookd/webhookd/internal/receivertest"
	"github.com/webhookd/webhookd/metrics"
	"github.com/webhookd/webhookd/redact"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/storage/storagetest"
	"github.com/webhookd/webhookd/webhook"
)

func connect(t testing.TB, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect to NATS: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func openStore(t testing.TB, st Store) storagetest.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := st.Open(ctx, t)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s
}

// env is one responder on a NATS server, with its store and a receiver.
type env struct {
	t       *testing.T
	st      Store
	url     string
	nc      *nats.Conn
	store   storagetest.Store
	resp    *control.Responder
	client  *controlapi.Client
	recv    *receivertest.Receiver
	metrics *metrics.Metrics
	reg     *prometheus.Registry
	nudges  atomic.Int64
}

type envOption func(*control.Options)

func newEnv(t *testing.T, st Store, opts ...envOption) *env {
	t.Helper()
	url := natstest.URL(t, func(o *server.Options) {
		o.JetStream = false    // the control plane speaks core NATS only
		o.MaxPayload = 8 << 20 // above the responder's own bounds, so those are what is tested
	})
	e := &env{t: t, st: st, url: url, store: openStore(t, st), recv: receivertest.New(t)}
	e.nc = connect(t, e.url)
	e.client = controlapi.NewClient(connect(t, e.url))
	e.resp, e.reg, e.metrics = e.startResponder(e.store, opts...)
	return e
}

func (e *env) startResponder(store control.Store, opts ...envOption) (*control.Responder, *prometheus.Registry, *metrics.Metrics) {
	e.t.Helper()
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, "test")
	var d control.Deliverer
	if e.st.Deliverer != nil {
		// The attempts' health is the real store's, whatever store the responder is given.
		d = e.st.Deliverer(e.t, e.store, connect(e.t, e.url), m)
	} else {
		d = fakedeliverer.New(e.t)
	}
	o := control.Options{
		Conn: connect(e.t, e.url), Store: store, Deliverer: d, Metrics: m,
		OnConfigChange: func() { e.nudges.Add(1) },
	}
	for _, f := range opts {
		f(&o)
	}
	r, err := control.Start(context.Background(), o)
	if err != nil {
		e.t.Fatalf("start responder: %v", err)
	}
	e.t.Cleanup(func() { r.Stop(context.Background()) })
	return r, reg, m
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// call sends a raw body and returns the raw reply.
func (e *env) raw(command string, body string) []byte {
	e.t.Helper()
	return e.rawT(e.t, command, body)
}

func (e *env) rawT(t testing.TB, command string, body string) []byte {
	t.Helper()
	msg, err := e.nc.Request(controlapi.Subject(command), []byte(body), 30*time.Second)
	if err != nil {
		if len(body) > 80 {
			body = body[:80] + "…"
		}
		t.Fatalf("%s %s: %v", command, body, err)
	}
	return msg.Data
}

// do sends req and decodes the result into out; it fails the test on an error reply.
func (e *env) do(command string, req, out any) {
	e.t.Helper()
	if err := e.client.Do(ctxT(e.t), command, req, out, nil); err != nil {
		e.t.Fatalf("%s: %v", command, err)
	}
}

// fail sends req and returns the error reply's code; it fails the test on success.
func (e *env) fail(command string, req any) *controlapi.Error {
	e.t.Helper()
	_, err := e.client.Call(ctxT(e.t), command, req, nil)
	var ce *controlapi.Error
	if !errors.As(err, &ce) {
		e.t.Fatalf("%s %v: err = %v, want an error reply", command, req, err)
	}
	return ce
}

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func definition(id, url string) config.Definition {
	d := config.Defaults()
	d.ID, d.Name, d.URL, d.SecretKey = id, "Definition "+id, url, testSecret
	d.Timeout = config.Duration(5 * time.Second)
	return d
}

func (e *env) applyDirect(defs []config.Definition, rules []config.Rule) {
	e.t.Helper()
	if err := e.store.ApplyConfig(ctxT(e.t), defs, rules, "test", time.Now().UTC()); err != nil {
		e.t.Fatalf("apply config: %v", err)
	}
}

// seed writes a webhook request and returns it.
type seedOpt func(*storage.WebhookRequest)

func (e *env) seed(state, defID string, opts ...seedOpt) *storage.WebhookRequest {
	e.t.Helper()
	ctx := ctxT(e.t)
	seq, err := e.store.ReserveNumbers(ctx, 1)
	if err != nil {
		e.t.Fatalf("reserve number: %v", err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	eventID := fmt.Sprintf("ev-%d", seq)
	body := fmt.Sprintf(`{"type":"customer.updated","timestamp":"2025-01-01T00:00:00Z","data":{"event_id":%q}}`, eventID)
	wr := &storage.WebhookRequest{
		Number: storage.FormatNumber(seq), Seq: seq,
		WebhookID: webhook.NewWebhookID(eventID, "r1", defID),
		State:     state, Entity: "customer", EntityID: "C-1", EventID: eventID,
		URL: "http://old.invalid/hook", SecretKey: redact.Secret(testSecret),
		Request: storage.RequestInfo{Method: "POST", URL: "http://old.invalid/hook",
			Headers: map[string]string{"Content-Type": "application/json"}, Body: body, SentAt: now},
		WebhookDefinition: storage.Ref{ID: defID, Name: "Definition " + defID},
		WorkflowRule:      storage.Ref{ID: "r1", Name: "Rule r1"},
		Attempts:          1,
		Log:               storage.Log{CreatedAt: now, CreatedBy: storage.SystemUser, UpdatedAt: now, UpdatedBy: storage.SystemUser},
	}
	if state == storage.StateRejected {
		wr.Attempts = 6
		wr.ErrorCode, wr.ErrorDescription = "HTTP_503", "receiver answered 503 Service Unavailable"
		wr.Response = &storage.ResponseInfo{Status: 503, Headers: map[string]string{}, Body: "down", DurationMS: 3}
	}
	for _, o := range opts {
		o(wr)
	}
	if n, err := e.store.InsertRequests(ctx, []*storage.WebhookRequest{wr}); err != nil || n != 1 {
		e.t.Fatalf("insert request: n=%d err=%v", n, err)
	}
	return wr
}

// get reads a request from the store; nil when it does not exist.
func (e *env) get(number string) *storage.WebhookRequest {
	e.t.Helper()
	wr, err := e.store.GetRequest(ctxT(e.t), number)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		e.t.Fatalf("get %s: %v", number, err)
	}
	return wr
}

// all lists every request in the store, newest first.
func (e *env) all(f storage.Filter) []*storage.WebhookRequest {
	e.t.Helper()
	var out []*storage.WebhookRequest
	var before int64
	for {
		page, err := e.store.ListRequests(ctxT(e.t), storage.ListQuery{Filter: f, Limit: 1000, BeforeSeq: before})
		if err != nil {
			e.t.Fatalf("list: %v", err)
		}
		out = append(out, page...)
		if len(page) < 1000 {
			return out
		}
		before = page[len(page)-1].Seq
	}
}

// pause is the polling interval of loops that report more than testutil.Eventually does.
func pause() {
	t := time.NewTimer(time.Millisecond)
	<-t.C
}
