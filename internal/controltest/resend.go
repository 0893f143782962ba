package controltest

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/control"
	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/internal/receivertest"
	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/webhook"
)

// testResendRules checks section 6's resend rules one by one, in one command whose results
// keep the order of the numbers given.
func testResendRules(t *testing.T, st Store) {
	e := newEnv(t, st)
	failing := receivertest.New(t)
	failing.SetStatus(http.StatusInternalServerError)

	all := definition("all", e.recv.URL+"/all")
	all.Headers = map[string]string{"X-Api-Version": "2"}
	quiet := definition("quiet", e.recv.URL+"/quiet")
	quiet.Logging = config.LoggingRejectedOnly
	down := definition("down", failing.URL+"/down")
	off := definition("off", e.recv.URL+"/off")
	off.Active = false
	e.applyDirect([]config.Definition{all, quiet, down, off}, nil)

	okAll := e.seed(storage.StateRejected, "all")
	okQuiet := e.seed(storage.StateRejected, "quiet")
	rejected := e.seed(storage.StateRejected, "down")
	successful := e.seed(storage.StateSuccessful, "all")
	inactive := e.seed(storage.StateRejected, "off")
	gone := e.seed(storage.StateRejected, "ghost")
	missing := "WR-0009999999"

	numbers := []string{okAll.Number, okQuiet.Number, rejected.Number, successful.Number, inactive.Number, gone.Number, missing}
	var res controlapi.ResendResult
	e.do(controlapi.CmdRequestsResend, map[string]any{"numbers": numbers, "user": "ann"}, &res)

	want := []struct {
		outcome string
		code    controlapi.Code
	}{
		{controlapi.OutcomeSuccessful, ""},
		{controlapi.OutcomeSuccessful, ""},
		{controlapi.OutcomeRejected, "HTTP_500"},
		{controlapi.OutcomeFailed, controlapi.CodeNotRejected},
		{controlapi.OutcomeFailed, controlapi.CodeDefinitionInactive},
		{controlapi.OutcomeFailed, controlapi.CodeDefinitionNotFound},
		{controlapi.OutcomeFailed, controlapi.CodeNotFound},
	}
	if len(res.Results) != len(want) {
		t.Fatalf("results = %+v", res.Results)
	}
	for i, w := range want {
		r := res.Results[i]
		if r.Number != numbers[i] || r.Outcome != w.outcome || r.ErrorCode != w.code {
			t.Errorf("result %d = %+v, want %s %s", i, r, w.outcome, w.code)
		}
		if w.outcome == controlapi.OutcomeFailed && r.ErrorDescription == "" {
			t.Errorf("result %d has no description", i)
		}
	}
	if res.Successful != 2 || res.Rejected != 1 || res.Failed != 4 {
		t.Errorf("totals = %d/%d/%d, want 2/1/4", res.Successful, res.Rejected, res.Failed)
	}

	// Success, logging all: one attempt with the stored body, the same webhook-id, a fresh
	// timestamp and the current secret, to the definition's current URL; the rejected
	// request is replaced.
	newNumber := res.Results[0].NewNumber
	if newNumber == "" || res.Results[1].NewNumber != "" || res.Results[2].NewNumber != "" {
		t.Fatalf("new numbers = %q %q %q", newNumber, res.Results[1].NewNumber, res.Results[2].NewNumber)
	}
	var toAll []receivertest.Request
	for _, r := range e.recv.Requests() {
		if r.Header.Get("webhook-id") == okAll.WebhookID {
			toAll = append(toAll, r)
		}
	}
	if len(toAll) != 1 {
		t.Fatalf("receiver got %d attempts for the resent request, want 1", len(toAll))
	}
	got := toAll[0]
	if string(got.Body) != okAll.Request.Body || got.Header.Get("X-Api-Version") != "2" ||
		got.Header.Get("Content-Type") != "application/json" {
		t.Errorf("attempt body %s headers %v", got.Body, got.Header)
	}
	if err := webhook.Verify(testSecret, got.Header, got.Body, time.Now(), 5*time.Minute); err != nil {
		t.Errorf("signature: %v", err)
	}
	if e.get(okAll.Number) != nil {
		t.Error("the rejected request is still there after a successful resend")
	}
	repl := e.get(newNumber)
	if repl == nil {
		t.Fatal("no replacement")
	}
	if repl.State != storage.StateSuccessful || repl.ResentFrom != okAll.Number || repl.WebhookID != okAll.WebhookID ||
		repl.Log.CreatedBy != "ann" || repl.Log.UpdatedBy != "ann" || repl.Attempts != okAll.Attempts+1 ||
		repl.URL != all.URL || repl.Request.URL != all.URL || repl.Response == nil || repl.Response.Status != 200 ||
		repl.ErrorCode != "" || repl.EventID != okAll.EventID || repl.SecretKey != "whsec_…LaSw" {
		t.Errorf("replacement = %+v", repl)
	}
	if repl.Seq <= gone.Seq {
		t.Errorf("replacement number %s is not newer than the requests before it", repl.Number)
	}

	// Success, logging rejected_only: the rejected request is deleted, nothing is written.
	if e.get(okQuiet.Number) != nil {
		t.Error("rejected_only: the rejected request is still there")
	}
	if n := len(e.all(storage.Filter{EventID: okQuiet.EventID})); n != 0 {
		t.Errorf("rejected_only: %d requests for the event, want 0", n)
	}

	// Rejected again: the request is updated, no retry, no new request.
	if n := len(failing.Requests()); n != 1 {
		t.Errorf("failing receiver got %d attempts, want exactly 1 (no automatic retries)", n)
	}
	after := e.get(rejected.Number)
	if after == nil || after.State != storage.StateRejected || after.ErrorCode != "HTTP_500" ||
		after.Attempts != rejected.Attempts+1 || after.Log.UpdatedBy != "ann" || !after.Log.UpdatedAt.After(rejected.Log.UpdatedAt.Add(-time.Millisecond)) ||
		after.Log.CreatedBy != storage.SystemUser || after.Response == nil || after.Response.Status != 500 {
		t.Errorf("rejected again = %+v", after)
	}

	// Failures change nothing.
	for _, wr := range []*storage.WebhookRequest{successful, inactive, gone} {
		now := e.get(wr.Number)
		if now == nil || now.Attempts != wr.Attempts || now.ErrorCode != wr.ErrorCode || now.Log.UpdatedBy != wr.Log.UpdatedBy {
			t.Errorf("%s changed: %+v", wr.Number, now)
		}
	}
	for _, r := range e.recv.Requests() {
		if id := r.Header.Get("webhook-id"); id == inactive.WebhookID || id == successful.WebhookID || id == gone.WebhookID {
			t.Errorf("an attempt was sent for a refused resend (%s)", id)
		}
	}

	// A failed resend releases nothing it did not take: the rejected one can be resent again.
	failing.SetStatus(http.StatusOK)
	e.do(controlapi.CmdRequestsResend, map[string]any{"numbers": []string{rejected.Number}, "user": "bob"}, &res)
	if res.Successful != 1 || res.Results[0].NewNumber == "" {
		t.Fatalf("second resend = %+v", res)
	}
	if repl := e.get(res.Results[0].NewNumber); repl == nil || repl.Attempts != rejected.Attempts+2 || repl.Log.CreatedBy != "bob" {
		t.Errorf("second replacement = %+v", repl)
	}

	audit, err := e.store.ListAudit(ctxT(t), 10)
	if err != nil || len(audit) != 2 || audit[1].Command != controlapi.CmdRequestsResend || audit[1].User != "ann" ||
		!strings.Contains(audit[1].Result, "2 successful, 1 rejected, 4 failed") {
		t.Errorf("audit = %+v (%v)", audit, err)
	}
}

// testConcurrentResends resends one request twice at once: exactly one attempt and one
// replacement, never both the rejected request and its replacement, never two replacements.
func testConcurrentResends(t *testing.T, st Store) {
	if st.NotAtomic != "" {
		t.Skip(st.NotAtomic)
	}
	e := newEnv(t, st)
	e.applyDirect([]config.Definition{definition("d1", e.recv.URL)}, nil)
	wr := e.seed(storage.StateRejected, "d1")
	release := e.recv.Hold()

	type outcome struct {
		res controlapi.ResendResult
		err error
	}
	results := make(chan outcome, 2)
	var wg sync.WaitGroup
	for _, user := range []string{"ann", "bob"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var o outcome
			o.err = e.client.Do(ctxT(t), controlapi.CmdRequestsResend, map[string]any{"numbers": []string{wr.Number}, "user": user}, &o.res, nil)
			results <- o
		}()
	}
	// One resend holds the claim and waits in the receiver; the other is refused meanwhile.
	<-e.recv.Arrived
	first := <-results
	release()
	wg.Wait()
	second := <-results
	for _, o := range []outcome{first, second} {
		if o.err != nil {
			t.Fatal(o.err)
		}
	}
	if first.res.Failed != 1 || first.res.Results[0].ErrorCode != controlapi.CodeResendInProgress {
		t.Errorf("the resend that lost = %+v", first.res)
	}
	if second.res.Successful != 1 || second.res.Results[0].NewNumber == "" {
		t.Errorf("the resend that won = %+v", second.res)
	}
	if n := len(e.recv.Requests()); n != 1 {
		t.Errorf("receiver got %d attempts, want 1", n)
	}
	docs := e.all(storage.Filter{EventID: wr.EventID})
	if len(docs) != 1 || docs[0].State != storage.StateSuccessful || docs[0].ResentFrom != wr.Number {
		t.Errorf("requests of the event = %+v, want only the replacement", docs)
	}
}

// testResendTakesOverStaleClaim: a resend that crashed leaves its claim; once the claim expires
// the request can be resent, and before that it is reported in progress.
func testResendTakesOverStaleClaim(t *testing.T, st Store) {
	e := newEnv(t, st)
	e.applyDirect([]config.Definition{definition("d1", e.recv.URL)}, nil)
	fresh := e.seed(storage.StateRejected, "d1")
	stale := e.seed(storage.StateRejected, "d1")
	ctx := ctxT(t)
	if _, err := e.store.ClaimResend(ctx, fresh.Number, storage.ResendClaim{Token: "crashed-1", By: "zed", Until: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.ClaimResend(ctx, stale.Number, storage.ResendClaim{Token: "crashed-2", By: "zed", Until: time.Now().Add(-time.Second)}); err != nil {
		t.Fatal(err)
	}
	var res controlapi.ResendResult
	e.do(controlapi.CmdRequestsResend, map[string]any{"numbers": []string{fresh.Number, stale.Number}, "user": "ann"}, &res)
	if res.Results[0].ErrorCode != controlapi.CodeResendInProgress || res.Results[1].Outcome != controlapi.OutcomeSuccessful {
		t.Fatalf("results = %+v", res.Results)
	}
	if e.get(fresh.Number) == nil || e.get(stale.Number) != nil {
		t.Fatal("wrong requests left")
	}
}

func testResendByFilterWithProgress(t *testing.T, st Store) {
	e := newEnv(t, st, func(o *control.Options) { o.ProgressInterval = time.Millisecond; o.ResendConcurrency = 3 })
	failing := receivertest.New(t)
	failing.SetStatus(http.StatusBadRequest)
	e.applyDirect([]config.Definition{definition("d1", e.recv.URL), definition("d2", failing.URL)}, nil)
	n := 25
	if st.Small {
		n = 8
	}
	for range n {
		e.seed(storage.StateRejected, "d1")
		e.seed(storage.StateSuccessful, "d1")
	}
	bad := e.seed(storage.StateRejected, "d2")
	other := e.seed(storage.StateRejected, "d1", func(wr *storage.WebhookRequest) { wr.Entity = "order" })

	var mu sync.Mutex
	var progress []controlapi.Progress
	var res controlapi.ResendResult
	err := e.client.Do(ctxT(t), controlapi.CmdRequestsResend,
		map[string]any{"filter": map[string]string{"entity": "customer"}, "user": "ann", "progress": true}, &res,
		func(p controlapi.Progress) { mu.Lock(); progress = append(progress, p); mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	if res.Successful != n || res.Rejected != 1 || res.Failed != 0 || len(res.Results) != n+1 || res.Truncated {
		t.Fatalf("totals %d/%d/%d, %d results: %+v", res.Successful, res.Rejected, res.Failed, len(res.Results), res.Results)
	}
	if len(progress) == 0 || progress[0].Done != 0 || progress[0].Total != int64(n+1) {
		t.Fatalf("progress = %v", progress)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i].Done < progress[i-1].Done || progress[i].Done > int64(n+1) {
			t.Fatalf("progress goes back or past the total: %v", progress)
		}
	}
	if e.get(bad.Number) == nil || e.get(other.Number) == nil {
		t.Fatal("requests outside the filter or rejected again must stay")
	}
	if left := e.all(storage.Filter{State: storage.StateRejected, Entity: "customer"}); len(left) != 1 {
		t.Fatalf("rejected left = %v", numbersOf(left))
	}
	if got := len(e.all(storage.Filter{State: storage.StateSuccessful})); got != 2*n {
		t.Fatalf("successful = %d, want %d", got, 2*n)
	}
}

// testStopInterruptsBulkWork: Stop lets the attempt in flight finish and store its outcome,
// starts no new one, and the requester learns how far it got.
func testStopInterruptsBulkWork(t *testing.T, st Store) {
	e := newEnv(t, st, func(o *control.Options) { o.ResendConcurrency = 1 })
	e.applyDirect([]config.Definition{definition("d1", e.recv.URL)}, nil)
	for range 5 {
		e.seed(storage.StateRejected, "d1")
	}
	release := e.recv.Hold()
	errc := make(chan error, 1)
	go func() {
		_, err := e.client.Call(ctxT(t), controlapi.CmdRequestsResend, map[string]any{"filter": map[string]string{"state": "rejected"}, "user": "ann"}, nil)
		errc <- err
	}()
	<-e.recv.Arrived
	stopped := make(chan struct{})
	go func() { e.resp.Stop(context.Background()); close(stopped) }()
	// Stop has begun once the control subject is no longer answered; only then is the attempt
	// in flight released, or the resend could go on to the next request first.
	testutil.Eventually(t, 10*time.Second, "Stop to begin (the control subject unanswered)", func() bool {
		_, err := e.client.Call(ctxT(t), controlapi.CmdDefinitionsList, map[string]any{}, nil)
		return err != nil && strings.Contains(err.Error(), "no webhookd")
	})
	// Stop waits for the attempt in flight.
	select {
	case <-stopped:
		t.Fatal("Stop returned while an attempt was in flight")
	default:
	}
	release()
	<-stopped
	err := <-errc
	ce, ok := err.(*controlapi.Error)
	if !ok || ce.Code != controlapi.CodeInterrupted || !strings.Contains(ce.Message, "resent 1 of about 5") {
		t.Fatalf("err = %v, want INTERRUPTED after 1", err)
	}
	if left := e.all(storage.Filter{State: storage.StateRejected}); len(left) != 4 {
		t.Fatalf("rejected left = %d, want 4", len(left))
	}
	if n := len(e.recv.Requests()); n != 1 {
		t.Fatalf("attempts = %d, want 1", n)
	}
	// Stopped: nobody answers any more.
	_, err = e.client.Call(ctxT(t), controlapi.CmdDefinitionsList, map[string]any{}, nil)
	if err == nil || !strings.Contains(err.Error(), "no webhookd") {
		t.Fatalf("after Stop: %v", err)
	}
}
