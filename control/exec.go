package control

import (
	"context"
	"encoding/json"

	"github.com/webhookd/webhookd/control/controlapi"
)

// Exec runs a command in this process, as if its request had come as a control message: the
// same handlers with the same checks in the same order, the audit (the user is the request's
// "user", as over NATS), the metrics and the log line. The web console calls it, so that it has
// no second implementation of any command.
//
// It returns the reply's result, or a *controlapi.Error for an error reply (errors.As). Progress is
// reported as over NATS only when the request asks for it ("progress":true); onProgress then
// receives it, from another goroutine, and never after Exec has returned.
//
// Exec waits for a free handler slot, like a message does, and shares the responder's
// lifecycle: once Stop has begun it answers UNAVAILABLE, and Stop waits for the commands Exec
// is running (bulk work is interrupted as for a message). Cancelling ctx cancels the command
// too; an attempt already sent still finishes and its outcome is stored.
func (r *Responder) Exec(ctx context.Context, command string, request []byte, onProgress func(controlapi.Progress)) (json.RawMessage, error) {
	if !r.enter() {
		return nil, errorf(controlapi.CodeUnavailable, "webhookd is shutting down; send the command again")
	}
	defer r.wg.Done()
	select {
	case r.sem <- struct{}{}:
	case <-r.stopping:
		return nil, errorf(controlapi.CodeUnavailable, "webhookd is shutting down; send the command again")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-r.sem }()

	// The command runs on the responder's context (cut at Stop's deadline) and ends with ctx.
	hctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()

	c := &call{cmd: command, body: request, progress: onProgress}
	if onProgress == nil {
		c.progress = func(controlapi.Progress) {}
	}
	res, e := r.handle(hctx, c)
	if e != nil {
		return nil, e
	}
	b, err := json.Marshal(res)
	if err != nil {
		return nil, errorf(controlapi.CodeInternal, "could not encode the result: %v", err)
	}
	return b, nil
}

// enter counts an in-process command in, unless Stop has begun.
func (r *Responder) enter() bool {
	r.execMu.Lock()
	defer r.execMu.Unlock()
	if r.isStopping() {
		return false
	}
	r.wg.Add(1)
	return true
}
