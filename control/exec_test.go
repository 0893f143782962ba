package control_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
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
	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/metrics"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/storage/sqlite"
	"github.com/webhookd/webhookd/webhook"
)

// execEnv is a responder on a NATS server and a SQLite store, with a receiver that answers 200.
type execEnv struct {
	store  *sqlite.Store
	resp   *control.Responder
	client *controlapi.Client
	reg    *prometheus.Registry
	recv   *receivertest.Receiver
}

func newExecEnv(t *testing.T) *execEnv {
	t.Helper()
	url := natstest.URL(t, func(o *server.Options) { o.JetStream = false })
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "webhookd.db"), testutil.Keyring(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	e := &execEnv{store: st, reg: prometheus.NewRegistry(), recv: receivertest.New(t)}
	d := config.Defaults()
	d.ID, d.Name, d.URL, d.SecretKey = "d1", "Definition d1", e.recv.URL, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	if err := st.ApplyConfig(ctx, []config.Definition{d}, nil, "test", time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	conn := func() *nats.Conn {
		nc, err := nats.Connect(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	e.resp, err = control.Start(ctx, control.Options{Conn: conn(), Store: st, Deliverer: fakedeliverer.New(t),
		Metrics: metrics.New(e.reg, "test"), ProgressInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.resp.Stop(context.Background()) })
	e.client = controlapi.NewClient(conn())
	return e
}

// seed writes n rejected requests of definition d1 and returns their numbers, oldest first.
func (e *execEnv) seed(t *testing.T, n int) []string {
	t.Helper()
	ctx := context.Background()
	first, err := e.store.ReserveNumbers(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	var numbers []string
	for i := range n {
		seq := first + int64(i)
		now := time.Now().UTC().Truncate(time.Millisecond)
		ev := fmt.Sprintf("ev-%d", seq)
		wr := &storage.WebhookRequest{
			Number: storage.FormatNumber(seq), Seq: seq, WebhookID: webhook.NewWebhookID(ev, "r1", "d1"),
			State: storage.StateRejected, Entity: "customer", EntityID: "C-1", EventID: ev,
			URL: "http://old.invalid/", SecretKey: "whsec_…LaSw",
			Request:           storage.RequestInfo{Method: "POST", URL: "http://old.invalid/", Headers: map[string]string{}, Body: `{}`, SentAt: now},
			WebhookDefinition: storage.Ref{ID: "d1", Name: "Definition d1"}, WorkflowRule: storage.Ref{ID: "r1", Name: "Rule r1"},
			Attempts: 1, ErrorCode: "HTTP_503", ErrorDescription: "down",
			Log: storage.Log{CreatedAt: now, CreatedBy: storage.SystemUser, UpdatedAt: now, UpdatedBy: storage.SystemUser},
		}
		if _, err := e.store.InsertRequests(ctx, []*storage.WebhookRequest{wr}); err != nil {
			t.Fatal(err)
		}
		numbers = append(numbers, wr.Number)
	}
	return numbers
}

func execCode(t *testing.T, err error) controlapi.Code {
	t.Helper()
	var ce *controlapi.Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want a *controlapi.Error", err)
	}
	return ce.Code
}

// TestExecIsTheControlPlane: Exec answers what the same request over NATS answers, runs the
// same checks in the same order, audits with the request's user and counts in the metrics.
func TestExecIsTheControlPlane(t *testing.T) {
	e := newExecEnv(t)
	ctx := context.Background()
	numbers := e.seed(t, 3)

	body := []byte(`{"filter":{"state":"rejected"},"limit":2}`)
	viaExec, err := e.resp.Exec(ctx, controlapi.CmdRequestsList, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	viaNATS, err := e.client.Call(ctx, controlapi.CmdRequestsList, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(viaExec) != string(viaNATS) {
		t.Errorf("Exec answered\n%s\nNATS answered\n%s", viaExec, viaNATS)
	}

	for _, tc := range []struct {
		cmd, body string
		code      controlapi.Code
	}{
		{"no.such", `{}`, controlapi.CodeUnknownCommand},
		{controlapi.CmdRequestsDelete, ``, controlapi.CodeBadRequest},
		{controlapi.CmdRequestsDelete, `{"numbers":"x","user":"ada"}`, controlapi.CodeBadRequest},
		{controlapi.CmdRequestsDelete, `{"numbers":["` + numbers[0] + `"]}`, controlapi.CodeUserRequired},
		{controlapi.CmdRequestsDelete, `{"filter":{},"user":"ada"}`, controlapi.CodeFilterRequired},
		{controlapi.CmdRequestsGet, `{"number":"WR-9999999999"}`, controlapi.CodeNotFound},
		{controlapi.CmdRequestsList, `{"filter":{"created_from":"yesterday"}}`, controlapi.CodeBadRequest},
	} {
		_, err := e.resp.Exec(ctx, tc.cmd, []byte(tc.body), nil)
		if got := execCode(t, err); got != tc.code {
			t.Errorf("%s %s: code %s, want %s", tc.cmd, tc.body, got, tc.code)
		}
	}

	res, err := e.resp.Exec(ctx, controlapi.CmdRequestsDelete, []byte(`{"numbers":["`+numbers[0]+`","WR-9999999999"],"user":"ada"}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	var del controlapi.DeleteResult
	if err := json.Unmarshal(res, &del); err != nil || del.Deleted != 1 || len(del.NotFound) != 1 {
		t.Fatalf("delete result %s (%v)", res, err)
	}
	audit, err := e.store.ListAudit(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, a := range audit {
		if a.Command == controlapi.CmdRequestsDelete && a.OK && a.User == "ada" && strings.Contains(a.Request, numbers[0]) {
			found = true
		}
	}
	if !found {
		t.Errorf("no audit entry of ada's delete among %+v", audit)
	}
	ok := commandCount(t, e.reg, controlapi.CmdRequestsDelete, metrics.ResultOK)
	bad := commandCount(t, e.reg, controlapi.CmdRequestsDelete, metrics.ResultError)
	if ok != 1 || bad != 4 {
		t.Errorf("requests.delete counted ok=%v error=%v, want 1 and 4", ok, bad)
	}
}

// commandCount is webhookd_control_commands_total{command, result}.
func commandCount(t *testing.T, reg *prometheus.Registry, cmd, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "webhookd_control_commands_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["command"] == cmd && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestExecReportsProgressAndStops: a bulk resend asked with "progress":true reports progress to
// the callback, the last report counting everything; once Stop has begun Exec is UNAVAILABLE.
func TestExecReportsProgressAndStops(t *testing.T) {
	e := newExecEnv(t)
	ctx := context.Background()
	e.seed(t, 5)
	var last atomic.Pointer[controlapi.Progress]
	var calls atomic.Int64
	res, err := e.resp.Exec(ctx, controlapi.CmdRequestsResend,
		[]byte(`{"filter":{"webhook_definition":"d1"},"user":"ada","progress":true}`),
		func(p controlapi.Progress) { calls.Add(1); last.Store(&p) })
	if err != nil {
		t.Fatal(err)
	}
	var rr controlapi.ResendResult
	if err := json.Unmarshal(res, &rr); err != nil || rr.Successful != 5 {
		t.Fatalf("resend result %s (%v)", res, err)
	}
	if e.recv.Count() != 5 {
		t.Errorf("receiver got %d requests, want 5", e.recv.Count())
	}
	if calls.Load() == 0 {
		t.Fatal("no progress reported")
	}
	if p := last.Load(); p.Total != 5 {
		t.Errorf("last progress %+v, want a total of 5", *p)
	}
	// Without "progress":true the callback is not called.
	calls.Store(0)
	if _, err := e.resp.Exec(ctx, controlapi.CmdRequestsDelete, []byte(`{"filter":{"entity":"customer"},"user":"ada"}`),
		func(controlapi.Progress) { calls.Add(1) }); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 0 {
		t.Errorf("progress reported %d times to a request that did not ask for it", calls.Load())
	}

	e.resp.Stop(ctx)
	_, err = e.resp.Exec(ctx, controlapi.CmdRequestsList, []byte(`{}`), nil)
	if got := execCode(t, err); got != controlapi.CodeUnavailable {
		t.Errorf("after Stop: code %s, want %s", got, controlapi.CodeUnavailable)
	}
}
