package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/internal/workertest"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/worker"
)

func TestDeliveryArrivesSignedAndIsLogged(t *testing.T) {
	t.Parallel()
	rc := workertest.NewReceiver(t, nil)
	e := workertest.Setup(t, workertest.ConfigOf(
		[]string{workertest.DefinitionYAML("erp-sync", rc.URL+"/hooks", `    headers: {X-Api-Version: "2"}
    fields_set: {name: customer-basic, fields: [name, address.city, missing.path]}`)},
		[]string{workertest.RuleYAML("customer-activated", "customer", "erp-sync") + `
    actions: [updated]
    condition: 'event.data.status == "active" && "status" in event.changed'`},
	))

	e.Publish(workertest.Event{ID: "ev-1", Entity: "customer", EntityID: "C-1001", Action: "updated", Actor: "jdoe",
		Changed: []string{"status"}, Data: map[string]any{"name": "Ada", "status": "active", "email": "a@example.com",
			"address": map[string]any{"city": "Paphos", "zip": "8010"}}})
	// Not matching: wrong action, then a false condition.
	e.Publish(workertest.Event{ID: "ev-2", Entity: "customer", EntityID: "C-1001", Action: "deleted", Data: map[string]any{"status": "active"}})
	e.Publish(workertest.Event{ID: "ev-3", Entity: "customer", EntityID: "C-1002", Action: "updated", Changed: []string{"name"}, Data: map[string]any{"status": "active"}})

	reqs := e.WaitRequests(1, storage.Filter{})
	got := rc.Requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	r := got[0]
	if r.Err != nil {
		t.Errorf("signature does not verify: %v", r.Err)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if ua := r.Header.Get("User-Agent"); !strings.HasPrefix(ua, "webhookd/") {
		t.Errorf("User-Agent = %q", ua)
	}
	if r.Header.Get("X-Api-Version") != "2" {
		t.Errorf("definition header missing: %v", r.Header)
	}
	var body struct {
		Type      string `json:"type"`
		Timestamp string `json:"timestamp"`
		Data      struct {
			EventID, Entity, EntityID, Action, Actor, WorkflowRule, WebhookDefinition string
			Fields                                                                    map[string]any
		} `json:"data"`
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("body %s: %v", r.Body, err)
	}
	if body.Type != "customer.updated" || body.Timestamp != "2026-11-27T10:00:00Z" {
		t.Errorf("type/timestamp = %q/%q", body.Type, body.Timestamp)
	}
	wantFields := `{"address":{"city":"Paphos"},"name":"Ada"}`
	if b, _ := json.Marshal(body.Data.Fields); string(b) != wantFields {
		t.Errorf("fields = %s, want %s", b, wantFields)
	}
	if !strings.Contains(string(r.Body), `"workflow_rule":"customer-activated"`) || !strings.Contains(string(r.Body), `"webhook_definition":"erp-sync"`) {
		t.Errorf("body lacks rule or definition: %s", r.Body)
	}

	req := reqs[0]
	if req.State != storage.StateSuccessful || req.Attempts != 1 || req.EventID != "ev-1" || req.EntityID != "C-1001" || req.Entity != "customer" {
		t.Errorf("stored request = %+v", req)
	}
	if !strings.HasPrefix(req.Number, "WR-") || len(req.Number) < 13 {
		t.Errorf("number = %q", req.Number)
	}
	if req.SecretKey == workertest.Secret || strings.Contains(req.SecretKey, "MfKQ9r8GKYqrTwjU") || !strings.HasSuffix(req.SecretKey, "LaSw") {
		t.Errorf("secret key not masked: %q", req.SecretKey)
	}
	if req.WebhookID != r.Header.Get("webhook-id") {
		t.Errorf("stored webhook_id %q != sent %q", req.WebhookID, r.Header.Get("webhook-id"))
	}
	if req.Request.Body != string(r.Body) || req.Request.Method != "POST" || req.URL != rc.URL+"/hooks" {
		t.Errorf("stored request info = %+v", req.Request)
	}
	if req.Response == nil || req.Response.Status != 200 || req.Response.Headers["X-Receiver"] != "test" || req.Response.Body != `{"n":1}` {
		t.Errorf("stored response = %+v", req.Response)
	}
	if req.FieldsSet == nil || req.FieldsSet.Name != "customer-basic" {
		t.Errorf("fields_set = %+v", req.FieldsSet)
	}
	if req.WebhookDefinition.ID != "erp-sync" || req.WorkflowRule.ID != "customer-activated" || req.Log.CreatedBy != "system" {
		t.Errorf("refs/log = %+v %+v %+v", req.WebhookDefinition, req.WorkflowRule, req.Log)
	}
}

func TestRetryKeepsWebhookIDAndStopsAtSuccess(t *testing.T) {
	t.Parallel()
	rc := workertest.NewReceiver(t, func(n int, _ *http.Request) int {
		if n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	e := workertest.Setup(t, workertest.ConfigOf(
		[]string{workertest.DefinitionYAML("d1", rc.URL, `    retry: {max_attempts: 5, initial_interval: 50ms, max_interval: 200ms}`)},
		[]string{workertest.RuleYAML("r1", "customer", "d1")},
	))
	e.Publish(workertest.Event{ID: "ev-retry", Entity: "customer", EntityID: "C-1", Action: "updated", Data: map[string]any{"a": 1}})
	reqs := e.WaitRequests(1, storage.Filter{})
	got := rc.Requests()
	if len(got) != 2 {
		t.Fatalf("receiver got %d requests, want 2 (503 then 200)", len(got))
	}
	if a, b := got[0].Header.Get("webhook-id"), got[1].Header.Get("webhook-id"); a == "" || a != b {
		t.Errorf("webhook-id changed between attempts: %q, %q", a, b)
	}
	if string(got[0].Body) != string(got[1].Body) {
		t.Errorf("body changed between attempts")
	}
	if reqs[0].State != storage.StateSuccessful || reqs[0].Attempts != 2 {
		t.Errorf("request = state %s attempts %d, want successful after 2", reqs[0].State, reqs[0].Attempts)
	}
}

func TestClientErrorIsRejectedAtOnce(t *testing.T) {
	t.Parallel()
	rc := workertest.NewReceiver(t, func(int, *http.Request) int { return http.StatusBadRequest })
	e := workertest.Setup(t, workertest.ConfigOf(
		[]string{workertest.DefinitionYAML("d1", rc.URL, `    retry: {max_attempts: 5, initial_interval: 10ms}`)},
		[]string{workertest.RuleYAML("r1", "customer", "d1")},
	))
	e.Publish(workertest.Event{ID: "ev-400", Entity: "customer", EntityID: "C-1", Action: "updated", Data: map[string]any{}})
	reqs := e.WaitRequests(1, storage.Filter{State: storage.StateRejected})
	if n := len(rc.Requests()); n != 1 {
		t.Errorf("receiver got %d requests, want 1 (no retry on 400)", n)
	}
	r := reqs[0]
	if r.ErrorCode != "HTTP_400" || r.Attempts != 1 || r.Response == nil || r.Response.Status != 400 {
		t.Errorf("rejected request = %+v", r)
	}
}

func TestRetriesEndAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	rc := workertest.NewReceiver(t, func(int, *http.Request) int { return http.StatusBadGateway })
	e := workertest.Setup(t, workertest.ConfigOf(
		[]string{workertest.DefinitionYAML("d1", rc.URL, `    retry: {max_attempts: 3, initial_interval: 10ms, max_interval: 20ms}`)},
		[]string{workertest.RuleYAML("r1", "customer", "d1")},
	))
	e.Publish(workertest.Event{ID: "ev-502", Entity: "customer", EntityID: "C-1", Action: "updated", Data: map[string]any{}})
	reqs := e.WaitRequests(1, storage.Filter{State: storage.StateRejected})
	if n := len(rc.Requests()); n != 3 {
		t.Errorf("receiver got %d requests, want 3", n)
	}
	if reqs[0].ErrorCode != "HTTP_502" || reqs[0].Attempts != 3 {
		t.Errorf("request = %s after %d attempts", reqs[0].ErrorCode, reqs[0].Attempts)
	}
}

func TestInvalidEventsAreKeptAndDoNotStall(t *testing.T) {
	t.Parallel()
	rc := workertest.NewReceiver(t, nil)
	e := workertest.Setup(t, workertest.ConfigOf([]string{workertest.DefinitionYAML("d1", rc.URL, "")}, []string{workertest.RuleYAML("r1", "customer", "d1")}))
	e.PublishRaw("crm.events.customer.updated", []byte("not json"), "")
	e.PublishRaw("crm.events.customer", []byte(`{"id":"x"}`), "")
	e.PublishRaw("crm.events.customer.updated", []byte(`{"id":"x","entity":"order","entity_id":"1","action":"updated","occurred_at":"2026-11-27T10:00:00Z","data":{}}`), "")
	e.PublishRaw("crm.events.customer.updated", []byte(`{"id":"y","entity":"customer","entity_id":"1","action":"updated","occurred_at":"yesterday","data":{}}`), "")
	e.Publish(workertest.Event{ID: "ev-ok", Entity: "customer", EntityID: "C-1", Action: "updated", Data: map[string]any{}})

	e.WaitRequests(1, storage.Filter{})
	var invalid []storage.InvalidEvent
	testutil.Eventually(t, 30*time.Second, "4 invalid events", func() bool {
		var err error
		invalid, err = e.Store.ListInvalidEvents(context.Background(), 100)
		return err == nil && len(invalid) == 4
	})
	reasons := map[string]string{}
	for _, iv := range invalid {
		reasons[iv.Body] = iv.Reason
		if iv.ReceivedAt.IsZero() || iv.Subject == "" {
			t.Errorf("invalid event lacks subject or time: %+v", iv)
		}
	}
	for body, want := range map[string]string{
		"not json":   "JSON",
		`{"id":"x"}`: "four tokens",
	} {
		if !strings.Contains(reasons[body], want) {
			t.Errorf("reason for %q = %q, want it to mention %q", body, reasons[body], want)
		}
	}
}

func TestDuplicatePublishIsDeliveredOnce(t *testing.T) {
	t.Parallel()
	rc := workertest.NewReceiver(t, nil)
	e := workertest.Setup(t, workertest.ConfigOf([]string{workertest.DefinitionYAML("d1", rc.URL, `    max_in_flight: 1`)}, []string{workertest.RuleYAML("r1", "customer", "d1")}))
	x := workertest.Event{ID: "ev-dup", Entity: "customer", EntityID: "C-1", Action: "updated", Data: map[string]any{}}
	e.Publish(x)
	e.Publish(x)
	e.Publish(workertest.Event{ID: "ev-after", Entity: "customer", EntityID: "C-2", Action: "updated", Data: map[string]any{}})
	e.WaitRequests(2, storage.Filter{})
	if n := len(e.Requests(storage.Filter{EventID: "ev-dup"})); n != 1 {
		t.Errorf("%d webhook requests for the duplicated event, want 1", n)
	}
	count := 0
	for _, r := range rc.Requests() {
		if strings.Contains(string(r.Body), `"event_id":"ev-dup"`) {
			count++
		}
	}
	if count != 1 {
		t.Errorf("receiver got the duplicated event %d times, want 1", count)
	}
}

func TestFanOutOneDeliveryPerRuleAndDefinition(t *testing.T) {
	t.Parallel()
	a, b := workertest.NewReceiver(t, nil), workertest.NewReceiver(t, func(int, *http.Request) int { return http.StatusInternalServerError })
	e := workertest.Setup(t, workertest.ConfigOf(
		[]string{workertest.DefinitionYAML("a", a.URL, ""), workertest.DefinitionYAML("b", b.URL, `    retry: {max_attempts: 2, initial_interval: 10ms}`)},
		[]string{workertest.RuleYAML("r1", "customer", "a", "b"), workertest.RuleYAML("r2", "customer", "a")},
	))
	e.Publish(workertest.Event{ID: "ev-fan", Entity: "customer", EntityID: "C-1", Action: "created", Data: map[string]any{}})
	e.WaitRequests(3, storage.Filter{})
	// The failing receiver's retries never re-send to the one that succeeded.
	if n := len(a.Requests()); n != 2 {
		t.Errorf("receiver a got %d requests, want 2 (one per rule)", n)
	}
	if n := len(b.Requests()); n != 2 {
		t.Errorf("receiver b got %d requests, want 2 (two attempts)", n)
	}
	ids := map[string]bool{}
	for _, r := range a.Requests() {
		ids[r.Header.Get("webhook-id")] = true
	}
	if len(ids) != 2 {
		t.Errorf("the two deliveries to a share a webhook-id: %v", ids)
	}
}

func TestPrivateDestinationIsBlocked(t *testing.T) {
	t.Parallel()
	rc := workertest.NewReceiver(t, nil)
	e := workertest.Setup(t, workertest.ConfigOf([]string{workertest.DefinitionYAML("d1", rc.URL, "")}, []string{workertest.RuleYAML("r1", "customer", "d1")}),
		func(o *worker.Options) { o.AllowPrivateNets = false })
	e.Publish(workertest.Event{ID: "ev-ssrf", Entity: "customer", EntityID: "C-1", Action: "updated", Data: map[string]any{}})
	reqs := e.WaitRequests(1, storage.Filter{})
	if reqs[0].State != storage.StateRejected || reqs[0].ErrorCode != "DESTINATION_BLOCKED" {
		t.Errorf("request = %s %s, want rejected DESTINATION_BLOCKED", reqs[0].State, reqs[0].ErrorCode)
	}
	if n := len(rc.Requests()); n != 0 {
		t.Errorf("loopback receiver got %d requests", n)
	}
}

func TestRestartMidStreamLosesNothing(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var once sync.Once
	rc := workertest.NewReceiver(t, func(n int, r *http.Request) int {
		if n > 5 {
			select {
			case <-release:
			case <-r.Context().Done():
				return http.StatusServiceUnavailable
			}
		}
		return http.StatusOK
	})
	e := workertest.Setup(t, workertest.ConfigOf([]string{workertest.DefinitionYAML("d1", rc.URL, `    max_in_flight: 4
    timeout: 2s
    retry: {max_attempts: 10, initial_interval: 10ms, max_interval: 50ms}`)}, []string{workertest.RuleYAML("r1", "customer", "d1")}),
		func(o *worker.Options) { o.ShutdownTimeout = 2 * time.Second }) // grace 1.5s, shorter than the attempts' timeout: they are handed back
	const n = 40
	for i := range n {
		e.Publish(workertest.Event{ID: fmt.Sprintf("ev-%02d", i), Entity: "customer", EntityID: "C", Action: "updated", Data: map[string]any{"i": i}})
	}
	testutil.Eventually(t, 30*time.Second, "the receiver to block", func() bool { return rc.Count() > 5 })
	e.Stop()
	once.Do(func() { close(release) })
	e.Start()
	// Handed back, the cut attempts come again at once; should the hand-back not make it within
	// the deadline on a loaded machine, JetStream redelivers them after their ack wait (the
	// attempt timeout plus 30 s). Either way nothing is lost and nothing is logged twice.
	var reqs []*storage.WebhookRequest
	testutil.Eventually(t, 2*time.Minute, fmt.Sprintf("%d webhook requests", n), func() bool {
		reqs = e.Requests(storage.Filter{})
		return len(reqs) >= n
	})
	seen := map[string]int{}
	for _, r := range reqs {
		seen[r.EventID]++
	}
	for i := range n {
		if id := fmt.Sprintf("ev-%02d", i); seen[id] != 1 {
			t.Errorf("event %s has %d webhook requests, want 1", id, seen[id])
		}
	}
}

// A healthy definition's deliveries go through while another's receiver fails everything: the
// failing one's deliveries are queued (parked for their retry, or waiting for the breaker's next
// probe), never holding the healthy one's.
func TestFailingDefinitionDoesNotStarveHealthyOne(t *testing.T) {
	t.Parallel()
	down := workertest.NewReceiver(t, func(int, *http.Request) int { return http.StatusServiceUnavailable })
	up := workertest.NewReceiver(t, nil)
	e := workertest.Setup(t, workertest.ConfigOf(
		[]string{
			workertest.DefinitionYAML("down", down.URL, `    retry: {max_attempts: 50, initial_interval: 1h, max_interval: 2h}
    max_in_flight: 8`),
			workertest.DefinitionYAML("up", up.URL, ""),
		},
		[]string{workertest.RuleYAML("to-down", "customer", "down"), workertest.RuleYAML("to-up", "order", "up")},
	))
	const parked = 300
	start := time.Now()
	for i := range parked {
		e.Publish(workertest.Event{ID: fmt.Sprintf("c-%d", i), Entity: "customer", EntityID: "C", Action: "updated", Data: map[string]any{}})
	}
	// Wait until the broken receiver has opened its definition's breaker (40 failures in a row)
	// and every delivery to it is queued.
	ctx := context.Background()
	c := e.DeliveryConsumer(ctx, "down")
	testutil.Eventually(t, 30*time.Second, "every delivery to the failing receiver queued, its breaker open", func() bool {
		info, err := c.Info(ctx)
		return err == nil && down.Count() >= 40 && info.NumAckPending+int(info.NumPending) >= parked
	})
	for i := range 50 {
		e.Publish(workertest.Event{ID: fmt.Sprintf("o-%d", i), Entity: "order", EntityID: "O", Action: "created", Data: map[string]any{}})
	}
	e.WaitRequests(50, storage.Filter{WebhookDefinition: "up"})
	if n := len(e.Requests(storage.Filter{WebhookDefinition: "down"})); n != 0 {
		t.Errorf("%d requests logged for the failing definition, want 0 while retrying", n)
	}
	// Up to 40 failures and the 8 attempts then in flight, then one probe a second: all 300
	// attempted would take minutes.
	if n, most := down.Count(), int64(40+8+int(time.Since(start).Seconds())+1); n > most {
		t.Errorf("the failing receiver got %d attempts, want at most %d: the breaker did not hold them back", n, most)
	}
}

func TestMaxInFlightIsEnforced(t *testing.T) {
	t.Parallel()
	var cur, peak atomic.Int64
	gate := make(chan struct{})
	rc := workertest.NewReceiver(t, func(n int, r *http.Request) int {
		c := cur.Add(1)
		defer cur.Add(-1)
		for {
			p := peak.Load()
			if c <= p || peak.CompareAndSwap(p, c) {
				break
			}
		}
		select {
		case <-gate:
		case <-r.Context().Done():
		}
		return http.StatusOK
	})
	e := workertest.Setup(t, workertest.ConfigOf([]string{workertest.DefinitionYAML("d1", rc.URL, `    max_in_flight: 3`)}, []string{workertest.RuleYAML("r1", "customer", "d1")}))
	for i := range 12 {
		e.Publish(workertest.Event{ID: fmt.Sprintf("ev-%d", i), Entity: "customer", EntityID: "C", Action: "updated", Data: map[string]any{}})
	}
	testutil.Eventually(t, 30*time.Second, "3 concurrent attempts", func() bool { return cur.Load() == 3 })
	close(gate)
	e.WaitRequests(12, storage.Filter{})
	if p := peak.Load(); p != 3 {
		t.Errorf("peak concurrent attempts = %d, want 3 (max_in_flight)", p)
	}
}

func TestRateLimitSpacesAttempts(t *testing.T) {
	t.Parallel()
	rc := workertest.NewReceiver(t, nil)
	e := workertest.Setup(t, workertest.ConfigOf([]string{workertest.DefinitionYAML("d1", rc.URL, `    rate_limit: 10`)}, []string{workertest.RuleYAML("r1", "customer", "d1")}))
	start := time.Now()
	for i := range 20 {
		e.Publish(workertest.Event{ID: fmt.Sprintf("ev-%d", i), Entity: "customer", EntityID: "C", Action: "updated", Data: map[string]any{}})
	}
	e.WaitRequests(20, storage.Filter{})
	// A burst of 10 then 10 per second: 20 attempts cannot finish in under a second. (A lower
	// bound only: the limiter makes it impossible to be faster, however fast the machine.)
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("20 attempts at rate_limit 10 took %s, want at least ~1s", d)
	}
}

func TestGoneDeactivatesDefinitionAndAnnounces(t *testing.T) {
	t.Parallel()
	rc := workertest.NewReceiver(t, func(int, *http.Request) int { return http.StatusGone })
	e := workertest.Setup(t, workertest.ConfigOf([]string{workertest.DefinitionYAML("d1", rc.URL, "")}, []string{workertest.RuleYAML("r1", "customer", "d1")}))
	notices := make(chan *nats.Msg, 4)
	sub, err := e.NC.ChanSubscribe(controlapi.SubjectDefinitionDisabled, notices)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := e.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	e.Publish(workertest.Event{ID: "ev-gone", Entity: "customer", EntityID: "C", Action: "updated", Data: map[string]any{}})
	select {
	case m := <-notices:
		var n controlapi.DefinitionDisabled
		if err := json.Unmarshal(m.Data, &n); err != nil || n.ID != "d1" || n.Name == "" || n.Reason == "" || n.Time.IsZero() {
			t.Errorf("notice = %s (%v)", m.Data, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no definition_disabled notice")
	}
	def, err := e.Store.GetDefinition(context.Background(), "d1")
	if err != nil {
		t.Fatal(err)
	}
	if def.Active || def.DisabledReason == "" || def.DisabledAt == nil {
		t.Errorf("definition after 410 = active %v reason %q at %v", def.Active, def.DisabledReason, def.DisabledAt)
	}
	if reqs := e.WaitRequests(1, storage.Filter{}); reqs[0].ErrorCode != "HTTP_410" {
		t.Errorf("request error = %s, want HTTP_410", reqs[0].ErrorCode)
	}
}

func TestHTTPEndpoints(t *testing.T) {
	t.Parallel()
	e := workertest.Setup(t, workertest.ConfigOf([]string{workertest.DefinitionYAML("d1", "https://example.com/hook", "")}, []string{workertest.RuleYAML("r1", "customer", "d1")}))
	base := "http://" + e.W.HTTPAddr()
	for path, want := range map[string]string{
		"/healthz": "ok",
		"/readyz":  "ready",
		"/metrics": "webhookd_events_total",
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		var sb strings.Builder
		_, _ = fmt.Fprint(&sb, readAll(resp))
		if resp.StatusCode != 200 || !strings.Contains(sb.String(), want) {
			t.Errorf("GET %s = %d %q, want 200 containing %q", path, resp.StatusCode, sb.String(), want)
		}
	}
}

func TestBadConfigRefusesToStart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := worker.Start(context.Background(), worker.Options{
		EmbeddedNATSListen: "127.0.0.1:0", DataDir: dir, HTTPAddr: "127.0.0.1:0",
		ConfigFile: workertest.WriteConfig(t, dir, workertest.ConfigOf([]string{workertest.DefinitionYAML("d1", "ftp://example.com", "")}, []string{workertest.RuleYAML("r1", "customer", "nope")})),
	})
	if err == nil {
		t.Fatal("worker started with an invalid config")
	}
	for _, want := range []string{"d1", "url", "nope"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestUnreachableStoreFailsStartCleanly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := worker.Start(ctx, worker.Options{
		EmbeddedNATSListen: "127.0.0.1:0", DataDir: dir, HTTPAddr: "127.0.0.1:0",
		MongoURI: "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200&connectTimeoutMS=200",
	})
	if err == nil || !strings.Contains(err.Error(), "store") {
		t.Fatalf("start with an unreachable MongoDB = %v, want an error about the store", err)
	}
}

// TestConfigFileAtRestartKeepsWhatHappenedSince: every replica applies --config at every start.
// The same file again changes nothing (no reload on a rolling restart, a deactivated definition
// stays deactivated); a changed entry is applied.
func TestConfigFileAtRestartKeepsWhatHappenedSince(t *testing.T) { workertest.ConfigFileAtRestart(t) }

// TestSecretsStayOutOfLogsAndDocuments: the definition's secret key, and a token in its URL's
// query, appear in no log line, and the stored request has the secret masked.
func TestSecretsStayOutOfLogsAndDocuments(t *testing.T) {
	t.Parallel()
	rc := workertest.NewReceiver(t, func(n int, _ *http.Request) int {
		if n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusBadRequest
	})
	var logs testutil.LogBuffer
	e := workertest.Setup(t, workertest.ConfigOf([]string{workertest.DefinitionYAML("d1", rc.URL+"/hook?token=sup3rs3cr3tt0ken", `    retry: {max_attempts: 3, initial_interval: 10ms}`)},
		[]string{workertest.RuleYAML("r1", "customer", "d1")}),
		func(o *worker.Options) {
			o.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		})
	e.Publish(workertest.Event{ID: "ev-secret", Entity: "customer", EntityID: "C", Action: "updated", Data: map[string]any{}})
	reqs := e.WaitRequests(1, storage.Filter{})
	out := logs.String()
	if !strings.Contains(out, "delivery rejected") {
		t.Fatalf("no rejection logged; logs:\n%s", out)
	}
	for _, secret := range []string{workertest.Secret, strings.TrimPrefix(workertest.Secret, "whsec_"), "sup3rs3cr3tt0ken"} {
		if strings.Contains(out, secret) {
			t.Errorf("logs contain %q", secret)
		}
		if strings.Contains(reqs[0].SecretKey, secret) || strings.Contains(reqs[0].ErrorDescription, secret) {
			t.Errorf("stored request contains %q", secret)
		}
	}
}
