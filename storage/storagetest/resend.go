package storagetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/webhookd/webhookd/storage"
)

func claim(token string, until time.Time) storage.ResendClaim {
	return storage.ResendClaim{Token: token, By: "alice", Until: until}
}

func future() time.Time { return time.Now().Add(time.Hour) }

// replacement is what a successful resend of r writes.
func replacement(r *storage.WebhookRequest, seq int64) *storage.WebhookRequest {
	c := successful(seq)
	c.WebhookID = r.WebhookID
	c.EventID = r.EventID
	c.ResentFrom = r.Number
	c.Log = storage.Log{CreatedAt: t0.Add(time.Hour), CreatedBy: "alice", UpdatedAt: t0.Add(time.Hour), UpdatedBy: "alice"}
	return c
}

func countEvent(t *testing.T, st Store, eventID string) int64 {
	t.Helper()
	n, err := st.CountRequests(ctx(t), storage.Filter{EventID: eventID})
	if err != nil {
		t.Fatalf("CountRequests(event %s): %v", eventID, err)
	}
	return n
}

func (s *suite) testResendClaim(t *testing.T) {
	st := s.open(t)
	rej, ok := request(1), successful(2)
	insert(t, st, rej, ok)

	_, err := st.ClaimResend(ctx(t), storage.FormatNumber(3), claim("t1", future()))
	wantErr(t, "claim unknown", err, storage.ErrNotFound)
	_, err = st.ClaimResend(ctx(t), ok.Number, claim("t1", future()))
	wantErr(t, "claim successful", err, storage.ErrConflict)

	got, err := st.ClaimResend(ctx(t), rej.Number, claim("t1", future()))
	if err != nil {
		t.Fatalf("ClaimResend: %v", err)
	}
	equalRequest(t, "claimed", got, want(rej))
	_, err = st.ClaimResend(ctx(t), rej.Number, claim("t2", future()))
	wantErr(t, "second claim", err, storage.ErrConflict)
	_, err = st.ClaimResend(ctx(t), rej.Number, claim("t1", future()))
	wantErr(t, "second claim with the same token", err, storage.ErrConflict)
	// The claim is invisible in the document.
	equalRequest(t, "while claimed", get(t, st, rej.Number), want(rej))
	if _, err := st.ClaimResend(ctx(t), rej.Number, claim("", future())); err == nil {
		t.Error("ClaimResend with an empty token: no error")
	}
}

func (s *suite) testResendExpiredClaim(t *testing.T) {
	st := s.open(t)
	rej := request(1)
	insert(t, st, rej)
	// A resend that crashed left a claim that has expired.
	if _, err := st.ClaimResend(ctx(t), rej.Number, claim("crashed", time.Now().Add(-time.Minute))); err != nil {
		t.Fatalf("ClaimResend: %v", err)
	}
	got, err := st.ClaimResend(ctx(t), rej.Number, claim("next", future()))
	if err != nil {
		t.Fatalf("ClaimResend over an expired claim: %v", err)
	}
	equalRequest(t, "taken over", got, want(rej))
	_, err = st.ClaimResend(ctx(t), rej.Number, claim("third", future()))
	wantErr(t, "claim over a live claim", err, storage.ErrConflict)
}

func (s *suite) testResendSuccessReplaces(t *testing.T) {
	st := s.open(t)
	rej, other := request(1), request(2)
	insert(t, st, rej, other)
	if _, err := st.ClaimResend(ctx(t), rej.Number, claim("tok", future())); err != nil {
		t.Fatalf("ClaimResend: %v", err)
	}
	repl := replacement(rej, 10)
	if err := st.CompleteResendSuccess(ctx(t), rej.Number, "tok", storage.ResendSuccess{Replacement: repl}); err != nil {
		t.Fatalf("CompleteResendSuccess: %v", err)
	}
	_, err := st.GetRequest(ctx(t), rej.Number)
	wantErr(t, "GetRequest(replaced)", err, storage.ErrNotFound)
	got := get(t, st, repl.Number)
	equalRequest(t, "replacement", got, want(repl))
	if got.ResentFrom != rej.Number {
		t.Errorf("resent_from = %q, want %q", got.ResentFrom, rej.Number)
	}
	if n := countEvent(t, st, rej.EventID); n != 1 {
		t.Errorf("%d requests for the delivery's event, want 1", n)
	}
	// The delivery's webhook_id now belongs to the replacement: a late redelivery of the rejected
	// request writes nothing.
	if n, err := st.InsertRequests(ctx(t), []*storage.WebhookRequest{rej}); err != nil || n != 0 {
		t.Errorf("InsertRequests(the replaced request) = %d, %v; want 0, nil", n, err)
	}
	if n := countEvent(t, st, rej.EventID); n != 1 {
		t.Errorf("%d requests for the delivery's event after a redelivery, want 1", n)
	}
	// The claim went with the replaced document.
	err = st.CompleteResendSuccess(ctx(t), rej.Number, "tok", storage.ResendSuccess{Replacement: replacement(rej, 11)})
	wantErr(t, "complete twice", err, storage.ErrConflict)
	err = st.CompleteResendFailure(ctx(t), repl.Number, "tok", storage.ResendFailure{ErrorCode: "X", At: t0, By: "alice"})
	wantErr(t, "complete the replacement", err, storage.ErrConflict)
	if _, err := st.GetRequest(ctx(t), storage.FormatNumber(11)); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("second replacement: GetRequest err = %v, want not found", err)
	}
	equalRequest(t, "untouched", get(t, st, other.Number), want(other))
}

func (s *suite) testResendSuccessDeletes(t *testing.T) {
	st := s.open(t)
	rej := request(1)
	insert(t, st, rej)
	if _, err := st.ClaimResend(ctx(t), rej.Number, claim("tok", future())); err != nil {
		t.Fatalf("ClaimResend: %v", err)
	}
	if err := st.CompleteResendSuccess(ctx(t), rej.Number, "tok", storage.ResendSuccess{}); err != nil {
		t.Fatalf("CompleteResendSuccess(nil replacement): %v", err)
	}
	_, err := st.GetRequest(ctx(t), rej.Number)
	wantErr(t, "GetRequest(deleted by resend)", err, storage.ErrNotFound)
	if n := countEvent(t, st, rej.EventID); n != 0 {
		t.Errorf("%d requests for the delivery's event, want 0", n)
	}
}

func (s *suite) testResendStaleToken(t *testing.T) {
	st := s.open(t)
	rej := request(1)
	insert(t, st, rej)
	if _, err := st.ClaimResend(ctx(t), rej.Number, claim("stale", time.Now().Add(-time.Second))); err != nil {
		t.Fatalf("ClaimResend: %v", err)
	}
	if _, err := st.ClaimResend(ctx(t), rej.Number, claim("live", future())); err != nil {
		t.Fatalf("ClaimResend over an expired claim: %v", err)
	}
	err := st.CompleteResendSuccess(ctx(t), rej.Number, "stale", storage.ResendSuccess{Replacement: replacement(rej, 10)})
	wantErr(t, "success with a stale token", err, storage.ErrConflict)
	err = st.CompleteResendSuccess(ctx(t), rej.Number, "stale", storage.ResendSuccess{})
	wantErr(t, "delete with a stale token", err, storage.ErrConflict)
	err = st.CompleteResendFailure(ctx(t), rej.Number, "stale", storage.ResendFailure{ErrorCode: "TIMEOUT", At: t0, By: "bob"})
	wantErr(t, "failure with a stale token", err, storage.ErrConflict)
	equalRequest(t, "after stale completions", get(t, st, rej.Number), want(rej))
	if _, err := st.GetRequest(ctx(t), storage.FormatNumber(10)); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("stale replacement: GetRequest err = %v, want not found", err)
	}
	// The live claim still holds.
	if err := st.CompleteResendSuccess(ctx(t), rej.Number, "live", storage.ResendSuccess{Replacement: replacement(rej, 11)}); err != nil {
		t.Fatalf("CompleteResendSuccess(live token): %v", err)
	}
	if n := countEvent(t, st, rej.EventID); n != 1 {
		t.Errorf("%d requests for the delivery's event, want 1", n)
	}
}

func (s *suite) testResendFailure(t *testing.T) {
	st := s.open(t)
	rej := request(1)
	insert(t, st, rej)
	if _, err := st.ClaimResend(ctx(t), rej.Number, claim("tok", future())); err != nil {
		t.Fatalf("ClaimResend: %v", err)
	}
	at := t0.Add(48 * time.Hour)
	f := storage.ResendFailure{ErrorCode: "TIMEOUT", ErrorDescription: "no answer in 10s", At: at, By: "bob"}
	if err := st.CompleteResendFailure(ctx(t), rej.Number, "tok", f); err != nil {
		t.Fatalf("CompleteResendFailure: %v", err)
	}
	w := want(rej)
	w.Attempts++
	w.ErrorCode, w.ErrorDescription = f.ErrorCode, f.ErrorDescription
	w.Response = nil // the new attempt had no response
	w.Log.UpdatedAt, w.Log.UpdatedBy = norm(at), "bob"
	equalRequest(t, "after a failed resend", get(t, st, rej.Number), w)

	// The claim was released: the next resend claims at once and its response is kept.
	if _, err := st.ClaimResend(ctx(t), rej.Number, claim("tok2", future())); err != nil {
		t.Fatalf("ClaimResend after a failed resend: %v", err)
	}
	at2 := at.Add(time.Minute)
	resp := &storage.ResponseInfo{Status: 404, Headers: map[string]string{"Content-Type": "text/html"}, Body: "<h1>gone</h1>", DurationMS: 87}
	f2 := storage.ResendFailure{ErrorCode: "HTTP_404", ErrorDescription: "receiver answered 404", Response: resp, At: at2, By: "carol"}
	if err := st.CompleteResendFailure(ctx(t), rej.Number, "tok2", f2); err != nil {
		t.Fatalf("CompleteResendFailure: %v", err)
	}
	w.Attempts++
	w.ErrorCode, w.ErrorDescription, w.Response = f2.ErrorCode, f2.ErrorDescription, resp
	w.Log.UpdatedAt, w.Log.UpdatedBy = norm(at2), "carol"
	equalRequest(t, "after a second failed resend", get(t, st, rej.Number), w)
	err := st.CompleteResendFailure(ctx(t), rej.Number, "tok2", f2)
	wantErr(t, "failure on a released claim", err, storage.ErrConflict)
}

func (s *suite) testResendUnclaimed(t *testing.T) {
	st := s.open(t)
	rej := request(1)
	insert(t, st, rej)
	err := st.CompleteResendSuccess(ctx(t), rej.Number, "tok", storage.ResendSuccess{Replacement: replacement(rej, 10)})
	wantErr(t, "success without a claim", err, storage.ErrConflict)
	err = st.CompleteResendSuccess(ctx(t), rej.Number, "", storage.ResendSuccess{})
	wantErr(t, "delete with an empty token", err, storage.ErrConflict)
	err = st.CompleteResendFailure(ctx(t), rej.Number, "", storage.ResendFailure{ErrorCode: "X", At: t0, By: "bob"})
	wantErr(t, "failure with an empty token", err, storage.ErrConflict)
	err = st.CompleteResendFailure(ctx(t), storage.FormatNumber(5), "tok", storage.ResendFailure{ErrorCode: "X", At: t0, By: "bob"})
	wantErr(t, "failure on an unknown request", err, storage.ErrConflict)
	equalRequest(t, "unchanged", get(t, st, rej.Number), want(rej))
}

// race runs fn(0), ..., fn(n-1) at once and returns how many won (returned nil); a loser must
// fail with a conflict.
func race(t *testing.T, what string, n int, fn func(i int) error) (won int) {
	t.Helper()
	var wg sync.WaitGroup
	results := make(chan error, n)
	for i := range n {
		wg.Go(func() { results <- fn(i) })
	}
	wg.Wait()
	close(results)
	for err := range results {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, storage.ErrConflict):
			t.Errorf("%s: %v, want nil or a conflict", what, err)
		}
	}
	return won
}

func (s *suite) testResendConcurrentClaims(t *testing.T) {
	s.needConcurrency(t)
	st := s.open(t)
	rej := request(1)
	insert(t, st, rej)
	const n = 8
	won := race(t, "ClaimResend", n, func(i int) error {
		_, err := st.ClaimResend(ctx(t), rej.Number, claim(fmt.Sprintf("tok-%d", i), future()))
		return err
	})
	if won != 1 {
		t.Errorf("%d of %d concurrent claims won, want exactly 1", won, n)
	}
}

func (s *suite) testResendConcurrentCompletions(t *testing.T) {
	s.needConcurrency(t)
	st := s.open(t)
	rej := request(1)
	insert(t, st, rej)
	if _, err := st.ClaimResend(ctx(t), rej.Number, claim("tok", future())); err != nil {
		t.Fatalf("ClaimResend: %v", err)
	}
	// The same claimed resend completed several times at once (a retried completion, or a bug):
	// at most one replacement, and never beside the rejected request.
	const n = 6
	won := race(t, "complete", n, func(i int) error {
		if i%3 == 2 {
			return st.CompleteResendFailure(ctx(t), rej.Number, "tok", storage.ResendFailure{ErrorCode: "TIMEOUT", At: t0, By: "bob"})
		}
		return st.CompleteResendSuccess(ctx(t), rej.Number, "tok", storage.ResendSuccess{Replacement: replacement(rej, int64(10+i))})
	})
	if won != 1 {
		t.Errorf("%d of %d concurrent completions won, want exactly 1", won, n)
	}
	if c := countEvent(t, st, rej.EventID); c != 1 {
		t.Errorf("%d requests for the delivery's event, want 1", c)
	}
}
