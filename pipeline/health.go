package pipeline

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/internal/startstop"
	"github.com/webhookd/webhookd/metrics"
)

// minFailuresToDisable: a definition is deactivated for failing only after this many attempts
// in its disable_after window, so one failure after a quiet weekend does not switch it off.
const minFailuresToDisable = 20

// goneReason is the disabled_reason of a definition whose receiver answered 410 Gone.
const goneReason = "the receiver answered 410 Gone"

// Health tracks endpoint health (CONTRACT.md section 3) for every attempt, the pipeline's and
// the resends' (deliverer.attempt feeds it). Failures are counted in memory and written to the
// store every flush, so the store sees a few writes per definition per minute however many
// deliveries fail; the window survives restarts and is shared by replicas. A 410 deactivates
// the definition at once: the pipeline's at the next flush, which it kicks; a resend's before
// the resend answers (goneNow).
type Health struct {
	startstop.Base
	every time.Duration // the flusher's interval

	store   Store
	nc      *nats.Conn
	catalog *Catalog
	metrics *metrics.Metrics
	log     *slog.Logger
	now     func() time.Time
	// writes is the store's WriteHealth: a store outage is said once, by it, not once per flush
	// and definition. Nil: the failures are only logged at debug level.
	writes *WriteHealth

	mu      sync.Mutex
	pending map[string]*failures // failures not yet written, by definition id
	cleared map[string]bool      // definitions that succeeded since the last flush
	gone    map[string]bool      // definitions that answered 410, to deactivate now
	kick    chan struct{}
}

type failures struct {
	n     int64
	first time.Time
}

// NewHealth is endpoint health whose flusher (Start) writes every interval; the owner's Flush
// writes what is left once the deliveries are done. Its writes failing count in writes (the
// store's WriteHealth; nil: they are only logged at debug level).
func NewHealth(store Store, nc *nats.Conn, catalog *Catalog, m *metrics.Metrics, log *slog.Logger, now func() time.Time,
	every time.Duration, writes *WriteHealth) *Health {
	h := newHealth(store, nc, catalog, m, log, now)
	h.every, h.writes = every, writes
	return h
}

func newHealth(store Store, nc *nats.Conn, catalog *Catalog, m *metrics.Metrics, log *slog.Logger, now func() time.Time) *Health {
	return &Health{store: store, nc: nc, catalog: catalog, metrics: m, log: log, now: now,
		pending: map[string]*failures{}, cleared: map[string]bool{}, gone: map[string]bool{}, kick: make(chan struct{}, 1)}
}

// observe records one attempt's outcome.
func (h *Health) observe(def *config.Definition, success, gone bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case gone:
		h.gone[def.ID] = true
		select {
		case h.kick <- struct{}{}:
		default:
		}
	case success:
		delete(h.pending, def.ID)
		h.cleared[def.ID] = true
	default:
		f := h.pending[def.ID]
		if f == nil {
			f = &failures{first: h.now()}
			h.pending[def.ID] = f
		}
		f.n++
		delete(h.cleared, def.ID)
	}
}

// Start starts the flusher, which runs until Stop or until ctx ends.
func (h *Health) Start(ctx context.Context) error {
	ctx, ok, stopped := h.StartInit(ctx)
	if !ok {
		return nil
	}
	go func() { defer stopped(); h.run(ctx, h.every) }()
	return nil
}

// run flushes every interval (and at once after a 410) until ctx ends, then flushes once more.
func (h *Health) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// The last flush is the owner's, under its shutdown deadline (Worker.Stop).
			return
		case <-t.C:
		case <-h.kick:
		}
		h.Flush(ctx)
	}
}

func (h *Health) Flush(ctx context.Context) {
	h.mu.Lock()
	pending, cleared, gone := h.pending, h.cleared, h.gone
	h.pending, h.cleared, h.gone = map[string]*failures{}, map[string]bool{}, map[string]bool{}
	h.mu.Unlock()

	snap := h.catalog.Current()
	for id := range gone {
		if def := snap.Definition(id); def != nil {
			h.disable(ctx, def, goneReason)
		}
	}
	for id := range cleared {
		err := h.store.ClearFailures(ctx, id)
		h.writes.observe(partHealth, err)
		if err != nil {
			h.log.Debug("clear endpoint health; again with the next flush", "webhook_definition", id, "error", err)
			h.reclear(id)
		}
	}
	for id, f := range pending {
		hl, err := h.store.RecordFailures(ctx, id, f.n, f.first)
		h.writes.observe(partHealth, err)
		if err != nil {
			h.log.Debug("record endpoint failures; again with the next flush", "webhook_definition", id, "error", err)
			h.requeue(id, f)
			continue
		}
		def := snap.Definition(id)
		if def == nil || !def.Active || def.DisableAfter <= 0 || hl.FailingSince.IsZero() {
			continue
		}
		if hl.Failures >= minFailuresToDisable && h.now().Sub(hl.FailingSince) >= def.DisableAfter.D() {
			h.disable(ctx, def, "every attempt failed for "+def.DisableAfter.Text())
		}
	}
}

// requeue puts failures whose write failed back, to be written with the next flush (unless a
// success came in between, which clears them anyway).
func (h *Health) requeue(id string, f *failures) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cleared[id] {
		return
	}
	if cur := h.pending[id]; cur != nil {
		cur.n += f.n
		if f.first.Before(cur.first) {
			cur.first = f.first
		}
		return
	}
	h.pending[id] = f
}

// reclear marks a definition cleared again after its clearing failed, to be written with the
// next flush, unless a failure came in between.
func (h *Health) reclear(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pending[id] == nil {
		h.cleared[id] = true
	}
}

// goneNow deactivates def for a 410 now, rather than at the next flush: a resend's caller is
// answered with the definition already inactive, as a resend's attempt is made for an operator
// who looks at the result. The flush has nothing left to do for it (or, when it took def's 410
// a moment earlier, finds it inactive already: one announcement either way).
func (h *Health) goneNow(ctx context.Context, def *config.Definition) {
	h.mu.Lock()
	delete(h.gone, def.ID)
	h.mu.Unlock()
	h.disable(ctx, def, goneReason)
}

// disable deactivates def for reason and, when this call is the one that did it (not an earlier
// one, nor another replica), counts it, announces it on controlapi.SubjectDefinitionDisabled
// and reloads the catalog. The time is kept to the millisecond, as the stores keep it, so the
// notice and disabled_at say the same. A failure is logged: the store write is what counts,
// and endpoint health never fails an attempt.
func (h *Health) disable(ctx context.Context, def *config.Definition, reason string) {
	at := h.now().UTC().Truncate(time.Millisecond)
	changed, err := h.store.DisableDefinition(ctx, def.ID, reason, at)
	if err != nil {
		h.log.Error("deactivate webhook definition", "webhook_definition", def.ID, "error", err)
		return
	}
	if !changed {
		return
	}
	h.metrics.DefinitionsDisabled.WithLabelValues(def.ID).Inc()
	h.log.Warn("webhook definition deactivated", "webhook_definition", def.ID, "reason", reason)
	b, err := json.Marshal(controlapi.DefinitionDisabled{ID: def.ID, Name: def.Name, Reason: reason, Time: at})
	if err == nil {
		err = h.nc.Publish(controlapi.SubjectDefinitionDisabled, b)
	}
	if err != nil {
		h.log.Warn("announce deactivated definition", "webhook_definition", def.ID, "error", err)
	}
	h.catalog.Nudge()
}
