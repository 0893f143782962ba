package workertest

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/internal/receivertest"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/worker"
)

// ResendTakesThePipelinesPath: a resend, through a whole worker's control plane, is an attempt
// of the pipeline's delivery path (CONTRACT.md sections 3 and 6). Its attempt sends the stored
// body under the same webhook-id; it is counted in webhookd_delivery_attempts_total as a final
// attempt (a 503 is "rejected", never "retry", whatever attempts max_attempts leaves); its success is logged by the pipeline's builder
// (the same request headers, the same fields as the delivery's own request); and a 410 to it
// deactivates the definition through endpoint health, before the resend answers, announced on
// the notices subject and counted. tweak chooses the store (the worker's tests run it
// standalone, the tests on MongoDB with a MongoDB URI).
func ResendTakesThePipelinesPath(t *testing.T, tweak ...func(*worker.Options)) {
	rc := receivertest.New(t, receivertest.Verify(Secret))
	rc.SetStatus(http.StatusBadRequest) // rejected at once, with attempts left under max_attempts
	reg := prometheus.NewRegistry()
	cfg := ConfigOf([]string{DefinitionYAML("d1", rc.URL, `    headers: {X-Api-Version: "2"}
    fields_set: {name: basic, fields: [name]}`)}, []string{RuleYAML("r1", "customer", "d1")})
	e := Setup(t, cfg, append([]func(*worker.Options){func(o *worker.Options) { o.Registry = reg }}, tweak...)...)
	client := controlapi.NewClient(e.NC)
	ctx := context.Background()
	resend := func(number string) controlapi.ResendItem {
		t.Helper()
		var res controlapi.ResendResult
		if err := client.Do(ctx, controlapi.CmdRequestsResend, controlapi.BulkRequest{Numbers: []string{number}, User: "ops"}, &res, nil); err != nil {
			t.Fatalf("resend %s: %v", number, err)
		}
		if len(res.Results) != 1 {
			t.Fatalf("resend %s: %+v", number, res)
		}
		return res.Results[0]
	}
	attempts := func(outcome string) float64 {
		return metricValue(t, reg, "webhookd_delivery_attempts_total", map[string]string{"webhook_definition": "d1", "outcome": outcome})
	}

	// The pipeline's attempt is rejected (a 400 is never retried).
	e.Publish(Event{ID: "ev-1", Entity: "customer", EntityID: "C-1", Action: "updated", Data: map[string]any{"name": "Ada", "email": "ada@example.com"}})
	orig := e.WaitRequests(1, storage.Filter{EventID: "ev-1"})[0]
	if orig.State != storage.StateRejected || orig.ErrorCode != "HTTP_400" || orig.Attempts != 1 {
		t.Fatalf("the pipeline's request = %+v, want rejected HTTP_400 after 1 attempt", orig)
	}
	if got := attempts("rejected"); got != 1 {
		t.Fatalf("rejected attempts after the pipeline's = %v, want 1", got)
	}

	// A resend answered 503: rejected, one attempt, counted as a final attempt although the
	// delivery has attempts left under max_attempts.
	rc.SetStatus(http.StatusServiceUnavailable)
	if it := resend(orig.Number); it.Outcome != controlapi.OutcomeRejected || it.ErrorCode != "HTTP_503" {
		t.Fatalf("resend answered 503 = %+v", it)
	}
	if r, s := attempts("retry"), attempts("rejected"); r != 0 || s != 2 {
		t.Errorf("attempts after a resend answered 503: retry %v, rejected %v; want 0 and 2 (a resend's attempt is final)", r, s)
	}
	if n := metricValue(t, reg, "webhookd_delivery_errors_total", map[string]string{"webhook_definition": "d1", "error_code": "HTTP_503"}); n != 1 {
		t.Errorf("HTTP_503 errors = %v, want 1", n)
	}
	again := e.Requests(storage.Filter{EventID: "ev-1"})
	if len(again) != 1 || again[0].Attempts != 2 || again[0].Log.UpdatedBy != "ops" || again[0].Response == nil || again[0].Response.Status != 503 {
		t.Fatalf("after the rejected resend: %+v", again)
	}

	// A successful resend: the stored body under the same webhook-id, logged by the builder of
	// the pipeline's requests.
	rc.SetStatus(http.StatusOK)
	it := resend(orig.Number)
	if it.Outcome != controlapi.OutcomeSuccessful || it.NewNumber == "" {
		t.Fatalf("resend answered 200 = %+v", it)
	}
	if a := attempts("success"); a != 1 {
		t.Errorf("successful attempts = %v, want 1", a)
	}
	got := rc.Requests()
	if len(got) != 3 {
		t.Fatalf("the receiver got %d requests, want 3 (the pipeline's and two resends)", len(got))
	}
	for i, r := range got {
		if r.Err != nil || r.Header.Get("webhook-id") != orig.WebhookID || string(r.Body) != orig.Request.Body || r.Header.Get("X-Api-Version") != "2" {
			t.Errorf("request %d: signature %v, webhook-id %q (want %q), X-Api-Version %q, body %s", i, r.Err,
				r.Header.Get("webhook-id"), orig.WebhookID, r.Header.Get("X-Api-Version"), r.Body)
		}
	}
	reqs := e.Requests(storage.Filter{EventID: "ev-1"})
	if len(reqs) != 1 || reqs[0].Number != it.NewNumber {
		t.Fatalf("requests of the event after the successful resend: %+v, want only %s", reqs, it.NewNumber)
	}
	repl := reqs[0]
	if repl.State != storage.StateSuccessful || repl.ResentFrom != orig.Number || repl.WebhookID != orig.WebhookID ||
		repl.Attempts != 3 || repl.Log.CreatedBy != "ops" || repl.Log.UpdatedBy != "ops" || repl.ErrorCode != "" ||
		repl.URL != rc.URL || repl.Request.URL != rc.URL || repl.Request.Body != orig.Request.Body ||
		repl.Response == nil || repl.Response.Status != 200 || repl.SecretKey != "whsec_…LaSw" ||
		repl.EventID != orig.EventID || repl.Entity != orig.Entity || repl.EntityID != orig.EntityID ||
		repl.WorkflowRule != orig.WorkflowRule || repl.WebhookDefinition != orig.WebhookDefinition ||
		repl.FieldsSet == nil || repl.FieldsSet.Name != "basic" {
		t.Errorf("replacement = %+v", repl)
	}
	// The pipeline's builder: the request's headers are those the pipeline logs.
	if a, b := slices.Sorted(maps.Keys(repl.Request.Headers)), slices.Sorted(maps.Keys(orig.Request.Headers)); !slices.Equal(a, b) {
		t.Errorf("replacement's request headers %v, the pipeline's %v", a, b)
	}

	// A 410 to a resend deactivates the definition before the resend answers.
	notices := make(chan *nats.Msg, 4)
	// The contract's subject as operators subscribe to it, not the constant.
	sub, err := e.NC.ChanSubscribe("crm.webhooks.notices.definition_disabled", notices)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := e.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	rc.SetStatus(http.StatusBadRequest)
	e.Publish(Event{ID: "ev-2", Entity: "customer", EntityID: "C-2", Action: "updated", Data: map[string]any{"name": "Grace"}})
	second := e.WaitRequests(1, storage.Filter{EventID: "ev-2"})[0]
	rc.SetStatus(http.StatusGone)
	if it := resend(second.Number); it.Outcome != controlapi.OutcomeRejected || it.ErrorCode != "HTTP_410" {
		t.Fatalf("resend answered 410 = %+v", it)
	}
	def, err := e.Store.GetDefinition(ctx, "d1")
	if err != nil {
		t.Fatal(err)
	}
	if def.Active || def.DisabledReason == "" || def.DisabledAt == nil {
		t.Errorf("definition as the resend answered 410 = active %v, reason %q, at %v; want deactivated", def.Active, def.DisabledReason, def.DisabledAt)
	}
	if n := metricValue(t, reg, "webhookd_definitions_disabled_total", map[string]string{"webhook_definition": "d1"}); n != 1 {
		t.Errorf("webhookd_definitions_disabled_total{d1} = %v, want 1", n)
	}
	select {
	case msg := <-notices:
		var notice map[string]any
		if err := json.Unmarshal(msg.Data, &notice); err != nil {
			t.Fatalf("notice %s: %v", msg.Data, err)
		}
		if notice["id"] != "d1" || notice["name"] != "Definition d1" || notice["reason"] == "" || len(notice) != 4 {
			t.Errorf("notice = %s, want {id, name, reason, time}", msg.Data)
		}
		if ts, _ := notice["time"].(string); func() error { _, err := time.Parse(time.RFC3339, ts); return err }() != nil {
			t.Errorf("notice time %q is not RFC 3339", ts)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no notice on crm.webhooks.notices.definition_disabled")
	}
	// A second resend is refused at once: the definition is inactive.
	if it := resend(second.Number); it.Outcome != controlapi.OutcomeFailed || it.ErrorCode != controlapi.CodeDefinitionInactive {
		t.Errorf("second resend after the 410 = %+v, want DEFINITION_INACTIVE", it)
	}
	if n := rc.Count(); n != 5 {
		t.Errorf("the receiver got %d requests, want 5 (nothing for the refused resend)", n)
	}
}

// metricValue is the value of the counter or gauge name whose labels include want; 0 when no
// series matches.
func metricValue(t testing.TB, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if got[k] != v {
					continue series
				}
			}
			return m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return 0
}
