package control

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/delivery"
	"github.com/webhookd/webhookd/storage"
)

// Bounds of one resend's store writes and attempt, independent of the command's context: once
// a request is claimed its outcome is always written, even while webhookd stops.
const (
	writeTimeout = 15 * time.Second
	// claimMargin is added to twice the attempt's timeout to make the claim's lifetime: long
	// enough for the attempt, a 410's deactivation and the writes after it, short enough that a
	// crash blocks a new resend of the request for a minute or so.
	claimMargin = 30 * time.Second
)

func (r *Responder) requestsResend(ctx context.Context, c *call) (any, *controlapi.Error) {
	b, e := decodeBulk(c, true)
	if e != nil {
		return nil, e
	}
	var res *controlapi.ResendResult
	if b.numbers != nil {
		res = r.resendNumbers(ctx, c, b)
	} else if res, e = r.resendFilter(ctx, c, b); e != nil {
		return nil, e
	}
	c.summary = fmt.Sprintf("resent %d: %d successful, %d rejected, %d failed",
		res.Successful+res.Rejected+res.Failed, res.Successful, res.Rejected, res.Failed)
	return res, nil
}

// collector gathers outcomes from concurrent resends.
type collector struct {
	mu  sync.Mutex
	res controlapi.ResendResult
}

func (col *collector) add(it controlapi.ResendItem) {
	col.mu.Lock()
	defer col.mu.Unlock()
	switch it.Outcome {
	case controlapi.OutcomeSuccessful:
		col.res.Successful++
	case controlapi.OutcomeRejected:
		col.res.Rejected++
	default:
		col.res.Failed++
	}
	if len(col.res.Results) < controlapi.MaxResults {
		col.res.Results = append(col.res.Results, it)
	} else {
		col.res.Truncated = true
	}
}

// resendNumbers resends up to MaxNumbers requests, ResendConcurrency at a time; results keep
// the order of the numbers given. If webhookd stops meanwhile, the numbers not yet started
// are reported failed with INTERRUPTED, and nothing was sent for them.
func (r *Responder) resendNumbers(ctx context.Context, c *call, b *bulk) *controlapi.ResendResult {
	items := make([]controlapi.ResendItem, len(b.numbers))
	t := r.track(c, b.progress, int64(len(b.numbers)))
	defer t.stop()
	sem := make(chan struct{}, r.o.ResendConcurrency)
	var wg sync.WaitGroup
	for i, n := range b.numbers {
		interrupted := r.isStopping()
		if !interrupted {
			select {
			case sem <- struct{}{}:
			case <-r.stopping:
				interrupted = true
			}
		}
		if interrupted {
			items[i] = failed(n, controlapi.CodeInterrupted, "webhookd is shutting down; nothing was sent, send the command again")
			continue
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			items[i] = r.resendOne(ctx, n, nil, c.user)
			t.add(1)
		}()
	}
	wg.Wait()
	t.stop()
	col := &collector{res: controlapi.ResendResult{Results: make([]controlapi.ResendItem, 0, len(items))}}
	for _, it := range items {
		col.add(it)
	}
	return &col.res
}

// resendFilter resends the rejected requests a filter selects, reading them page by page with
// a descending cursor (memory stays bounded and requests rejected meanwhile are left alone),
// ResendConcurrency at a time.
func (r *Responder) resendFilter(ctx context.Context, c *call, b *bulk) (*controlapi.ResendResult, *controlapi.Error) {
	total, err := r.o.Store.CountRequests(ctx, b.filter)
	if err != nil {
		return nil, internal("count webhook requests to resend", err)
	}
	t := r.track(c, b.progress, total)
	defer t.stop()
	col := &collector{res: controlapi.ResendResult{Results: []controlapi.ResendItem{}}}

	listed := make(chan *storage.WebhookRequest)
	var wg sync.WaitGroup
	for range r.o.ResendConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for wr := range listed {
				col.add(r.resendOne(ctx, wr.Number, wr, c.user))
				t.add(1)
			}
		}()
	}
	var listErr error
	interrupted := false
	var before int64
	seen := int64(0)
feed:
	for {
		page, err := r.o.Store.ListRequests(ctx, storage.ListQuery{Filter: b.filter, Limit: pageSize, BeforeSeq: before})
		if err != nil {
			listErr = err
			break
		}
		for _, wr := range page {
			select {
			case listed <- wr:
				seen++
			case <-r.stopping:
				interrupted = true
				break feed
			}
		}
		if seen > total {
			t.setTotal(seen)
		}
		if len(page) < pageSize {
			break
		}
		before = page[len(page)-1].Seq
	}
	close(listed)
	wg.Wait()
	t.setTotal(seen)
	t.stop()
	done := col.res.Successful + col.res.Rejected + col.res.Failed
	switch {
	case listErr != nil:
		return nil, internal(fmt.Sprintf("list webhook requests to resend (after resending %d)", done), listErr)
	case interrupted:
		c.summary = fmt.Sprintf("interrupted after resending %d: %d successful, %d rejected, %d failed",
			done, col.res.Successful, col.res.Rejected, col.res.Failed)
		return nil, errorf(controlapi.CodeInterrupted, "webhookd is shutting down: resent %d of about %d (%d successful, %d rejected, %d failed); send the command again to resend the rest",
			done, total, col.res.Successful, col.res.Rejected, col.res.Failed)
	}
	return &col.res, nil
}

func failed(number string, code controlapi.Code, format string, args ...any) controlapi.ResendItem {
	return controlapi.ResendItem{Number: number, Outcome: controlapi.OutcomeFailed, ErrorCode: code, ErrorDescription: fmt.Sprintf(format, args...)}
}

// resendOne resends one request (section 6, "Resend"); listed is the request as a resend by
// filter read it from its page, nil for a resend by numbers. It never panics: a panic is the
// request's INTERNAL failure.
func (r *Responder) resendOne(ctx context.Context, number string, listed *storage.WebhookRequest, user string) (item controlapi.ResendItem) {
	defer func() {
		if p := recover(); p != nil {
			r.o.Log.Error("resend panicked", "number", number, "panic", fmt.Sprint(p))
			item = failed(number, controlapi.CodeInternal, "internal error")
		}
	}()
	item = r.resend(ctx, number, listed, user)
	r.o.Log.Info("resend", "number", number, "user", user, "outcome", item.Outcome,
		"new_number", item.NewNumber, "error_code", item.ErrorCode)
	return item
}

func (r *Responder) resend(ctx context.Context, number string, listed *storage.WebhookRequest, user string) controlapi.ResendItem {
	// 1. The checks that change nothing come first, so a refused resend never holds a claim.
	// A listed request is not read again: the claim below checks its state in the store, and
	// claimFailed tells why when it changed meanwhile.
	wr := listed
	if wr == nil {
		var err error
		wr, err = r.o.Store.GetRequest(ctx, number)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return failed(number, controlapi.CodeNotFound, "webhook request %s does not exist", number)
		case err != nil:
			return failed(number, controlapi.CodeInternal, "read the request: %v", err)
		}
	}
	if wr.State != storage.StateRejected {
		return failed(number, controlapi.CodeNotRejected, "webhook request %s is %s; only rejected requests are resent", number, wr.State)
	}
	defID := wr.WebhookDefinition.ID
	def, err := r.o.Store.GetDefinition(ctx, defID)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return failed(number, controlapi.CodeDefinitionNotFound, "webhook definition %q does not exist", defID)
	case err != nil:
		return failed(number, controlapi.CodeInternal, "read webhook definition %q: %v", defID, err)
	case !def.Active:
		return failed(number, controlapi.CodeDefinitionInactive, "webhook definition %q is inactive; reactivate it with config.apply", defID)
	}
	timeout := def.Timeout.D()
	if timeout <= 0 {
		timeout = config.DefaultTimeout
	}
	// The replacement's number is taken before the claim, so that nothing can fail between a
	// successful attempt and writing its outcome but the store itself.
	var seq int64
	if def.Logging != config.LoggingRejectedOnly {
		if seq, err = r.nextNumber(ctx); err != nil {
			return failed(number, controlapi.CodeInternal, "allocate a request number: %v", err)
		}
	}

	// 2. Claim it: of two resends at once, one goes on and the other is told so.
	token, err := newToken()
	if err != nil {
		return failed(number, controlapi.CodeInternal, "%v", err)
	}
	now := r.o.Now().UTC()
	claimed, err := r.o.Store.ClaimResend(ctx, number, storage.ResendClaim{Token: token, By: user, Until: now.Add(2*timeout + claimMargin)})
	if err != nil {
		return r.claimFailed(ctx, number, err)
	}

	// 3. One final attempt, by the worker's delivery path: the stored body under the same
	// webhook-id, to the definition as it is now. It is not cut short by Stop (its own timeout
	// bounds it), so the claim is always completed.
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout+10*time.Second)
	res, done := r.o.Deliverer.Redeliver(sendCtx, def, claimed)
	cancel()

	wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer wcancel()
	at := r.o.Now().UTC()
	if res.Outcome == delivery.Success {
		var repl *storage.WebhookRequest
		if def.Logging != config.LoggingRejectedOnly {
			repl = done
			repl.Seq, repl.Number = seq, storage.FormatNumber(seq)
			repl.ResentFrom = number
			repl.Log = storage.Log{CreatedAt: at, CreatedBy: user, UpdatedAt: at, UpdatedBy: user}
		}
		if err := r.o.Store.CompleteResendSuccess(wctx, number, token, storage.ResendSuccess{Replacement: repl}); err != nil {
			return r.completeFailed(number, err, "the receiver accepted it")
		}
		if repl == nil {
			return controlapi.ResendItem{Number: number, Outcome: controlapi.OutcomeSuccessful}
		}
		if r.o.Metrics != nil {
			r.o.Metrics.RequestsLogged.WithLabelValues(storage.StateSuccessful).Inc()
		}
		return controlapi.ResendItem{Number: number, Outcome: controlapi.OutcomeSuccessful, NewNumber: repl.Number}
	}
	// 4. Rejected, or a failure that would be retried: a resend makes one attempt only.
	err = r.o.Store.CompleteResendFailure(wctx, number, token, storage.ResendFailure{
		ErrorCode: res.ErrorCode, ErrorDescription: res.ErrorDescription, Response: res.Response, At: at, By: user,
	})
	if err != nil {
		return r.completeFailed(number, err, "the attempt failed with "+res.ErrorCode)
	}
	return controlapi.ResendItem{Number: number, Outcome: controlapi.OutcomeRejected, ErrorCode: controlapi.Code(res.ErrorCode), ErrorDescription: res.ErrorDescription}
}

// claimFailed says why a claim was refused: the request went away or changed state after it
// was read (another resend finished first), or another resend holds it.
func (r *Responder) claimFailed(ctx context.Context, number string, err error) controlapi.ResendItem {
	if errors.Is(err, storage.ErrConflict) {
		wr, gerr := r.o.Store.GetRequest(ctx, number)
		switch {
		case errors.Is(gerr, storage.ErrNotFound):
			return failed(number, controlapi.CodeNotFound, "webhook request %s does not exist (another resend just replaced it)", number)
		case gerr == nil && wr.State != storage.StateRejected:
			return failed(number, controlapi.CodeNotRejected, "webhook request %s is %s; only rejected requests are resent", number, wr.State)
		}
		return failed(number, controlapi.CodeResendInProgress, "another resend of webhook request %s is in progress", number)
	}
	if errors.Is(err, storage.ErrNotFound) {
		return failed(number, controlapi.CodeNotFound, "webhook request %s does not exist", number)
	}
	return failed(number, controlapi.CodeInternal, "claim the request: %v", err)
}

func (r *Responder) completeFailed(number string, err error, what string) controlapi.ResendItem {
	if errors.Is(err, storage.ErrConflict) {
		return failed(number, controlapi.CodeClaimLost, "%s, but the claim on the request expired before the outcome was stored and another resend took it over", what)
	}
	r.o.Log.Error("store resend outcome", "number", number, "error", err)
	return failed(number, controlapi.CodeInternal, "%s, but the outcome could not be stored (%v); the request stays claimed for a short while, then can be resent again with the same webhook-id", what, err)
}

func (r *Responder) nextNumber(ctx context.Context) (int64, error) {
	if r.o.Numbers != nil {
		return r.o.Numbers(ctx)
	}
	return r.numbers.Next(ctx, r.o.Store)
}

func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make a resend claim token: %w", err)
	}
	return hex.EncodeToString(b), nil
}
