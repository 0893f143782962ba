package pipeline

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/delivery"
	"github.com/webhookd/webhookd/internal/natstest"
	"github.com/webhookd/webhookd/metrics"
	"github.com/webhookd/webhookd/storage"
)

// answeringSender answers every attempt with status, as package delivery classifies it, and
// keeps the attempts: a fake of the worker's own Sender.
type answeringSender struct {
	status int
	mu     sync.Mutex
	sent   []delivery.Attempt
}

func (s *answeringSender) Send(_ context.Context, a delivery.Attempt) delivery.Result {
	s.mu.Lock()
	s.sent = append(s.sent, a)
	s.mu.Unlock()
	res := delivery.Result{
		Request:  storage.RequestInfo{Method: a.Method, URL: a.URL, Headers: map[string]string{"webhook-id": a.WebhookID}, Body: string(a.Body)},
		Response: &storage.ResponseInfo{Status: s.status, Headers: map[string]string{}},
		Duration: time.Millisecond,
	}
	switch {
	case s.status < 300:
		res.Outcome = delivery.Success
	case s.status == http.StatusServiceUnavailable:
		res.Outcome, res.ErrorCode = delivery.Retry, delivery.HTTPCodePrefix+strconv.Itoa(s.status)
	default:
		res.Outcome, res.ErrorCode = delivery.Reject, delivery.HTTPCodePrefix+strconv.Itoa(s.status)
	}
	return res
}

// Redeliver is one final attempt of the stored delivery: the stored body under the same
// webhook-id, signed as the pipeline signs (the previous key too while a rotation's grace runs),
// counted as a final attempt (a retryable failure is "rejected"), fed to endpoint health (a 410
// deactivates before Redeliver returns, without waiting for a flush), and on success logged by
// the pipeline's builder.
func TestRedeliverIsAFinalAttemptOfThePipeline(t *testing.T) {
	t.Parallel()
	nc, err := nats.Connect(natstest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	rotated := now.Add(-time.Hour)
	def := &config.Definition{ID: "d1", Name: "D1", Method: "PUT", URL: "https://erp.example.com/hook?token=abc",
		Headers: map[string]string{"X-Api-Version": "2"}, SecretKey: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		PreviousSecretKey: "whsec_old", SecretRotatedAt: &rotated, SecretRotationGrace: config.Duration(24 * time.Hour),
		Retry: config.RetryPolicy{MaxAttempts: 6}, Active: true, Timeout: config.Duration(time.Second)}
	stored := &storage.WebhookRequest{
		Number: "WR-0000000007", Seq: 7, WebhookID: "msg_abc", State: storage.StateRejected,
		Entity: "customer", EntityID: "C-1", EventID: "ev-1", URL: "https://old.example.com/", SecretKey: "whsec_…old",
		FieldsSet:         &config.FieldsSet{Name: "basic", Fields: []string{"name"}},
		Request:           storage.RequestInfo{Method: "POST", URL: "https://old.example.com/", Body: `{"type":"customer.updated"}`},
		WebhookDefinition: storage.Ref{ID: "d1", Name: "old name"}, WorkflowRule: storage.Ref{ID: "r1", Name: "R1"},
		Attempts: 1, ErrorCode: "HTTP_400", // attempts left under max_attempts: only final makes a 503 rejected
	}

	for _, tc := range []struct {
		status              int
		outcome             string // the attempt's counted outcome
		gone, logged, fails bool
	}{
		{http.StatusServiceUnavailable, metrics.OutcomeRejected, false, false, true},
		{http.StatusGone, metrics.OutcomeRejected, true, false, true},
		{http.StatusOK, metrics.OutcomeSuccess, false, true, false},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			store := newHealthStore()
			m := metrics.New(prometheus.NewRegistry(), "test")
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			cat := NewCatalog(store, m, log)
			clock := func() time.Time { return now }
			// No flush runs: what Redeliver does for endpoint health is done when it returns.
			h := newHealth(store, nc, cat, m, log, clock)
			sender := &answeringSender{status: tc.status}
			d := &Deliverer{catalog: cat, sender: sender, health: h, metrics: m, log: log, now: clock}

			res, wr := d.Redeliver(context.Background(), def, stored)

			if len(sender.sent) != 1 {
				t.Fatalf("%d attempts, want 1", len(sender.sent))
			}
			a := sender.sent[0]
			if a.WebhookID != stored.WebhookID || string(a.Body) != stored.Request.Body || a.URL != def.URL || a.Method != "PUT" ||
				a.Headers["X-Api-Version"] != "2" || a.SecretKey != def.SecretKey || a.PreviousSecretKey != "whsec_old" || a.Timeout != time.Second {
				t.Errorf("attempt = %+v", a)
			}
			for _, o := range []string{metrics.OutcomeSuccess, metrics.OutcomeRetry, metrics.OutcomeRejected} {
				want := 0.0
				if o == tc.outcome {
					want = 1
				}
				if got := testutil.ToFloat64(m.DeliveryAttempts.WithLabelValues("d1", o)); got != want {
					t.Errorf("attempts{%s} = %v, want %v", o, got, want)
				}
			}
			if tc.fails {
				if got := testutil.ToFloat64(m.DeliveryErrors.WithLabelValues("d1", res.ErrorCode)); got != 1 {
					t.Errorf("errors{%s} = %v, want 1", res.ErrorCode, got)
				}
			}
			if f := h.pending["d1"]; tc.fails && !tc.gone && (f == nil || f.n != 1) {
				t.Errorf("endpoint health's failures = %+v, want 1", f)
			}
			if tc.logged != h.cleared["d1"] {
				t.Errorf("endpoint health cleared = %v, want %v", h.cleared["d1"], tc.logged)
			}
			if got := store.disabledReason("d1"); (got == goneReason) != tc.gone {
				t.Errorf("deactivated %q on return; want deactivated: %v", got, tc.gone)
			}
			if tc.gone && len(h.gone) != 0 {
				t.Error("the next flush would deactivate it again")
			}
			if !tc.logged {
				if wr != nil {
					t.Errorf("a failed attempt returned a request: %+v", wr)
				}
				return
			}
			want := taskOf(stored).request(def, stored.Attempts+1, storage.StateSuccessful, &res, now)
			if wr == nil || wr.State != storage.StateSuccessful || wr.Attempts != 2 || wr.WebhookID != "msg_abc" ||
				wr.URL != want.URL || wr.URL == def.URL || wr.SecretKey != "whsec_…LaSw" ||
				wr.WebhookDefinition != (storage.Ref{ID: "d1", Name: "D1"}) || wr.WorkflowRule != stored.WorkflowRule ||
				wr.EventID != "ev-1" || wr.FieldsSet != stored.FieldsSet || wr.ErrorCode != "" ||
				wr.Response == nil || wr.Response.Status != 200 || wr.Request.Method != "PUT" || wr.Log != want.Log {
				t.Errorf("request = %+v, want the pipeline's %+v", wr, want)
			}
			if wr.Number != "" || wr.ResentFrom != "" {
				t.Errorf("the request's number %q and resent_from %q are the control plane's to set", wr.Number, wr.ResentFrom)
			}
		})
	}
}
