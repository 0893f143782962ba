package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/delivery"
	"github.com/webhookd/webhookd/metrics"
	"github.com/webhookd/webhookd/storage"
)

// Store is what the control plane needs of a store (storage/mongo or storage/sqlite).
type Store interface {
	ReserveNumbers(ctx context.Context, n int) (first int64, err error)
	GetRequest(ctx context.Context, number string) (*storage.WebhookRequest, error)
	ListRequests(ctx context.Context, q storage.ListQuery) ([]*storage.WebhookRequest, error)
	CountRequests(ctx context.Context, f storage.Filter) (int64, error)
	DeleteRequests(ctx context.Context, numbers []string) (deleted []string, err error)
	ClaimResend(ctx context.Context, number string, claim storage.ResendClaim) (*storage.WebhookRequest, error)
	CompleteResendSuccess(ctx context.Context, number, token string, s storage.ResendSuccess) error
	CompleteResendFailure(ctx context.Context, number, token string, f storage.ResendFailure) error

	ApplyConfig(ctx context.Context, defs []config.Definition, rules []config.Rule, user string, at time.Time) error
	ListDefinitions(ctx context.Context) ([]config.Definition, error)
	GetDefinition(ctx context.Context, id string) (*config.Definition, error)
	DeleteDefinition(ctx context.Context, id string) error
	ListRules(ctx context.Context) ([]config.Rule, error)
	GetRule(ctx context.Context, id string) (*config.Rule, error)
	DeleteRule(ctx context.Context, id string) error

	InsertAudit(ctx context.Context, e storage.AuditEntry) error
}

// Deliverer makes a resend's attempt. The worker's delivery path is the one (worker's
// deliverer, which asserts it): a resend's attempt is made, signed, classified, counted and fed
// to endpoint health as the pipeline's attempts are, and its webhook request is built by the
// pipeline's builder.
type Deliverer interface {
	// Redeliver makes one final attempt of the delivery that wr, a stored rejected request
	// of def, logs: wr's stored body under wr's webhook-id, to def as it is now (URL, method,
	// headers, secret, and the previous secret while a rotation's grace runs). It is never
	// retried, so a retryable failure counts as rejected. A 410 Gone has deactivated def when it
	// returns. On success it also returns the successful webhook request that logs the
	// attempt, secrets masked, its attempts wr's plus this one; its number, resent_from and
	// log are the caller's to set. ctx bounds the attempt: an attempt it cuts short is not
	// counted, so a caller that must not be cut short by a shutdown passes a context of its own.
	Redeliver(ctx context.Context, def *config.Definition, wr *storage.WebhookRequest) (delivery.Result, *storage.WebhookRequest)
}

// Options configure a Responder.
type Options struct {
	Conn      *nats.Conn
	Store     Store
	Deliverer Deliverer // a resend's attempts
	// Numbers allocates the sequence of a resend's replacement request (the worker's
	// Recorder.Number, which takes them from reserved blocks). Nil: the responder reserves
	// blocks of its own.
	Numbers func(ctx context.Context) (int64, error)
	// OnConfigChange is called after a command changed definitions or rules, so this replica
	// reloads at once (other replicas notice the store's config version within their poll).
	OnConfigChange func()
	Metrics        *metrics.Metrics // nil: not counted
	Log            *slog.Logger     // nil: discarded

	Queue             string        // default QueueGroup
	Concurrency       int           // commands handled at once; default 32
	ResendConcurrency int           // resend attempts at once within one command; default 8
	ProgressInterval  time.Duration // least time between progress messages; default 500ms
	Now               func() time.Time
}

func (o *Options) setDefaults() {
	if o.Queue == "" {
		o.Queue = controlapi.QueueGroup
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 32
	}
	if o.ResendConcurrency <= 0 {
		o.ResendConcurrency = 8
	}
	if o.ProgressInterval <= 0 {
		o.ProgressInterval = 500 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.OnConfigChange == nil {
		o.OnConfigChange = func() {}
	}
}

// handler runs one command. It returns the result to send, or the reply's error.
type handler func(ctx context.Context, c *call) (any, *controlapi.Error)

// Responder answers control messages until Stop.
type Responder struct {
	o        Options
	nc       *nats.Conn
	sub      *nats.Subscription
	handlers map[string]handler
	sem      chan struct{}
	numbers  storage.Numbers // used when Options.Numbers is nil

	ctx      context.Context // commands' context; canceled only when Stop's grace period is over
	cancel   context.CancelFunc
	stopping chan struct{} // closed when Stop begins: bulk work stops taking new items
	wg       sync.WaitGroup
	stopOnce sync.Once
	// execMu orders Exec's wg.Add before Stop's close of stopping, so that Stop never waits
	// while a new in-process command is being added.
	execMu sync.Mutex
}

// Start subscribes to crm.webhooks.control.> in the queue group and answers until Stop. The
// context's values are kept, but not its cancellation: commands in progress are ended by Stop,
// gracefully.
func Start(ctx context.Context, o Options) (*Responder, error) {
	if o.Conn == nil || o.Store == nil || o.Deliverer == nil {
		return nil, errors.New("start control responder: Conn, Store and Deliverer are required")
	}
	o.setDefaults()
	r := &Responder{o: o, nc: o.Conn, sem: make(chan struct{}, o.Concurrency), stopping: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	r.handlers = map[string]handler{
		controlapi.CmdRequestsList:      r.requestsList,
		controlapi.CmdRequestsGet:       r.requestsGet,
		controlapi.CmdRequestsDelete:    r.requestsDelete,
		controlapi.CmdRequestsResend:    r.requestsResend,
		controlapi.CmdConfigApply:       r.configApply,
		controlapi.CmdDefinitionsList:   r.definitionsList,
		controlapi.CmdDefinitionsGet:    r.definitionsGet,
		controlapi.CmdDefinitionsDelete: r.definitionsDelete,
		controlapi.CmdRulesList:         r.rulesList,
		controlapi.CmdRulesGet:          r.rulesGet,
		controlapi.CmdRulesDelete:       r.rulesDelete,
	}
	if o.Metrics != nil {
		o.Metrics.InitCommands(append(append([]string(nil), controlapi.Commands...), unknownLabel))
	}
	sub, err := r.nc.QueueSubscribe(controlapi.SubjectPrefix+">", o.Queue, r.onMsg)
	if err != nil {
		r.cancel()
		return nil, fmt.Errorf("subscribe to %s> in queue group %s: %w", controlapi.SubjectPrefix, o.Queue, err)
	}
	// The default 64 MiB of pending bytes would let a flood of requests hold that much here;
	// requests wait for a free handler in the server's hands instead.
	_ = sub.SetPendingLimits(4096, 64<<20)
	r.sub = sub
	// Once Flush returns the server knows the subscription: a request sent now is answered.
	if err := r.nc.FlushTimeout(10 * time.Second); err != nil {
		_ = sub.Unsubscribe()
		r.cancel()
		return nil, fmt.Errorf("subscribe to %s>: flush: %w", controlapi.SubjectPrefix, err)
	}
	o.Log.Info("control responder started", "subject", controlapi.SubjectPrefix+">", "queue", o.Queue)
	return r, nil
}

// Stop stops taking commands and waits for those in progress: bulk work stops at its next item
// and answers INTERRUPTED, attempts already sent finish and their outcome is stored. When ctx
// ends first, whatever is left is cut short. Stop is idempotent.
func (r *Responder) Stop(ctx context.Context) {
	r.stopOnce.Do(func() {
		r.execMu.Lock()
		close(r.stopping)
		r.execMu.Unlock()
		closed := r.sub.StatusChanged(nats.SubscriptionClosed)
		if err := r.sub.Drain(); err != nil {
			_ = r.sub.Unsubscribe()
		}
		cut := func() {
			r.o.Log.Warn("control commands still running at the shutdown deadline: cutting them short")
			r.cancel()
		}
		// Once the subscription is closed its callback runs no more, so wg only goes down.
		timedOut := false
		select {
		case <-closed:
		case <-ctx.Done():
			timedOut = true
			cut()
		}
		done := make(chan struct{})
		go func() { r.wg.Wait(); close(done) }()
		if !timedOut {
			select {
			case <-done:
			case <-ctx.Done():
				cut()
			}
		}
		<-done
		r.cancel()
		r.o.Log.Info("control responder stopped")
	})
}

// onMsg runs on the subscription's goroutine: it waits for a free handler slot, which holds
// further requests in the client's pending queue, and hands the message to a goroutine.
func (r *Responder) onMsg(m *nats.Msg) {
	if m.Reply == "" {
		r.o.Log.Debug("control message without a reply subject ignored", "subject", m.Subject)
		return
	}
	select {
	case r.sem <- struct{}{}:
	case <-r.ctx.Done():
		r.reply(m.Reply, nil, errorf(controlapi.CodeUnavailable, "webhookd is shutting down; send the command again"))
		return
	}
	r.wg.Add(1)
	go func() {
		defer func() { <-r.sem; r.wg.Done() }()
		r.serve(m)
	}()
}

const unknownLabel = "unknown"

// call is one command being handled.
type call struct {
	cmd     string
	body    []byte
	replyTo string
	// progress, when set (Exec), receives progress instead of the reply subject.
	progress func(controlapi.Progress)
	// Set by handlers for the audit: who asked, a summary of the result, and the request as
	// it may be stored (secrets masked); empty request: the body, masked generically.
	user         string
	summary      string
	auditRequest string
}

func (r *Responder) serve(m *nats.Msg) {
	c := &call{cmd: commandOf(m.Subject), body: m.Data, replyTo: m.Reply}
	res, e := r.handle(r.ctx, c)
	r.reply(c.replyTo, res, e)
}

// handle runs one command however it came (a NATS message or Exec): the checks, the handler,
// the audit, the metrics and the log line. It returns the result, or the reply's error.
func (r *Responder) handle(ctx context.Context, c *call) (any, *controlapi.Error) {
	start := time.Now()
	h, known := r.handlers[c.cmd]
	label := c.cmd
	if !known {
		label = unknownLabel
	}
	var res any
	var e *controlapi.Error
	switch {
	case !known:
		e = errorf(controlapi.CodeUnknownCommand, "unknown command %q: known commands are %v", c.cmd, controlapi.Commands)
	case len(c.body) > maxBody(c.cmd):
		e = errorf(controlapi.CodeBadRequest, "body is %d bytes, at most %d are allowed", len(c.body), maxBody(c.cmd))
	default:
		res, e = r.run(ctx, h, c)
	}
	if known && controlapi.IsMutating(c.cmd) {
		r.audit(c, e)
	}

	result := metrics.ResultOK
	if e != nil {
		result = metrics.ResultError
	}
	if r.o.Metrics != nil {
		r.o.Metrics.ControlCommands.WithLabelValues(label, result).Inc()
	}
	attrs := []any{"command", c.cmd, "duration", time.Since(start)}
	if c.user != "" {
		attrs = append(attrs, "user", c.user)
	}
	switch {
	case e != nil && e.Code == controlapi.CodeInternal:
		r.o.Log.Error("control command failed", append(attrs, "code", e.Code, "error", e.Message)...)
	case e != nil:
		r.o.Log.Info("control command refused", append(attrs, "code", e.Code, "error", e.Message)...)
	case controlapi.IsMutating(c.cmd):
		r.o.Log.Info("control command done", append(attrs, "result", c.summary)...)
	default:
		r.o.Log.Debug("control command done", attrs...)
	}
	return res, e
}

func maxBody(cmd string) int {
	if cmd == controlapi.CmdConfigApply {
		return config.MaxDocumentSize
	}
	return controlapi.MaxBody
}

// run calls the handler; a panic becomes INTERNAL, never a crash.
func (r *Responder) run(ctx context.Context, h handler, c *call) (res any, e *controlapi.Error) {
	defer func() {
		if p := recover(); p != nil {
			r.o.Log.Error("control command panicked", "command", c.cmd, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			res, e = nil, errorf(controlapi.CodeInternal, "internal error while handling %s", c.cmd)
		}
	}()
	return h(ctx, c)
}

// reply sends the final reply.
func (r *Responder) reply(to string, res any, e *controlapi.Error) {
	data, err := encodeReply(res, e)
	if err != nil {
		r.o.Log.Error("encode control reply", "error", err)
		data, _ = encodeReply(nil, errorf(controlapi.CodeInternal, "could not encode the reply"))
	}
	if err := r.nc.Publish(to, data); err != nil {
		r.o.Log.Error("send control reply", "bytes", len(data), "error", err)
		if errors.Is(err, nats.ErrMaxPayload) {
			data, _ = encodeReply(nil, errorf(controlapi.CodeInternal, "the reply (%d bytes) is larger than NATS allows; ask for less (a smaller limit)", len(data)))
			_ = r.nc.Publish(to, data)
		}
	}
}

func encodeReply(res any, e *controlapi.Error) ([]byte, error) {
	if e != nil {
		return json.Marshal(controlapi.Reply{OK: false, Error: e})
	}
	b, err := json.Marshal(res)
	if err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	// The envelope is written around the result rather than marshalled: json.Marshal would
	// validate and compact the whole result a second time.
	out := make([]byte, 0, len(b)+len(replyPrefix)+1)
	out = append(out, replyPrefix...)
	out = append(out, b...)
	return append(out, '}'), nil
}

const replyPrefix = `{"ok":true,"result":`

// internal turns a store failure into INTERNAL. The message says what failed; store errors
// carry no secrets.
func internal(what string, err error) *controlapi.Error {
	return errorf(controlapi.CodeInternal, "%s: %v", what, err)
}

// isStopping reports whether Stop has begun.
func (r *Responder) isStopping() bool {
	select {
	case <-r.stopping:
		return true
	default:
		return false
	}
}
