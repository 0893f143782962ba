package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/delivery"
	"github.com/webhookd/webhookd/internal/startstop"
	"github.com/webhookd/webhookd/metrics"
	"github.com/webhookd/webhookd/rules"
)

// errorCodes are the delivery error codes other than HTTP_<status>, whose series start at zero:
// those an attempt can end with, and the worker's own. CANCELED is left out: an attempt that
// shutdown cuts short is handed back uncounted, and a resend's attempt is never cut short, so
// its series could never move.
var errorCodes = append(slices.DeleteFunc(delivery.Codes(), func(c string) bool { return c == delivery.CodeCanceled }),
	string(controlapi.CodeDefinitionNotFound), string(controlapi.CodeDefinitionInactive), string(controlapi.CodePayloadTooLarge), string(controlapi.CodeQueueFull))

// Snapshot is one consistent view of the definitions and rules. It is immutable: a change in the
// store produces a new Snapshot, swapped in atomically, so an event is matched against one
// version of the configuration from start to end.
type Snapshot struct {
	Version     int64
	Index       *rules.Index
	Definitions map[string]*config.Definition

	conditionRules map[string]bool // ids of the rules with a condition, whose error series exist
}

// Definition returns the definition with id, or nil.
func (s *Snapshot) Definition(id string) *config.Definition { return s.Definitions[id] }

// Catalog keeps the current Snapshot and reloads it when the store's config version changes.
type Catalog struct {
	store   Store
	metrics *metrics.Metrics
	log     *slog.Logger
	cur     atomic.Pointer[Snapshot]
	changed chan struct{} // a nudge to reload now (a local change), without waiting for the poll
}

// NewCatalog returns an empty catalog; Load fills it.
func NewCatalog(store Store, m *metrics.Metrics, log *slog.Logger) *Catalog {
	c := &Catalog{store: store, metrics: m, log: log, changed: make(chan struct{}, 1)}
	c.cur.Store(&Snapshot{Version: -1, Index: mustEmptyIndex(), Definitions: map[string]*config.Definition{}})
	return c
}

func mustEmptyIndex() *rules.Index {
	ix, err := rules.New(nil, nil)
	if err != nil {
		panic(fmt.Sprintf("build an empty rule index: %v", err)) // cannot happen: nothing to compile
	}
	return ix
}

// Current returns the snapshot in force.
func (c *Catalog) Current() *Snapshot { return c.cur.Load() }

// Nudge asks for a reload as soon as possible.
func (c *Catalog) Nudge() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// Load reads definitions and rules and swaps in a new snapshot if the version moved. It reports
// whether it did.
func (c *Catalog) Load(ctx context.Context) (bool, error) {
	changed, err := c.load(ctx)
	if err != nil {
		c.metrics.ConfigReloads.WithLabelValues(metrics.ResultError).Inc()
	}
	return changed, err
}

func (c *Catalog) load(ctx context.Context) (bool, error) {
	v, err := c.store.ConfigVersion(ctx)
	if err != nil {
		return false, fmt.Errorf("read config version: %w", err)
	}
	if v == c.cur.Load().Version {
		return false, nil
	}
	defs, err := c.store.ListDefinitions(ctx)
	if err != nil {
		return false, fmt.Errorf("load webhook definitions: %w", err)
	}
	rls, err := c.store.ListRules(ctx)
	if err != nil {
		return false, fmt.Errorf("load workflow rules: %w", err)
	}
	ix, err := rules.New(rls, defs, rules.OnConditionError(func(ruleID string, err error) {
		// A condition that fails to evaluate counts as false (CONTRACT.md section 4).
		c.metrics.ConditionErrors.WithLabelValues(ruleID).Inc()
		c.log.Debug("rule condition failed, counted as false", "workflow_rule", ruleID, "error", err)
	}))
	if err != nil {
		return false, fmt.Errorf("build rule index (version %d): %w", v, err)
	}
	snap := &Snapshot{Version: v, Index: ix, Definitions: make(map[string]*config.Definition, len(defs))}
	activeDefs, activeRules := 0, 0
	for i := range defs {
		d := &defs[i]
		snap.Definitions[d.ID] = d
		c.metrics.InitDefinition(d.ID, errorCodes...)
		if d.Active {
			activeDefs++
		}
	}
	snap.conditionRules = make(map[string]bool)
	for _, r := range rls {
		if r.Active {
			activeRules++
		}
		if r.Condition != "" {
			snap.conditionRules[r.ID] = true
			c.metrics.InitRule(r.ID)
		}
	}
	old := c.cur.Swap(snap)
	for id := range old.Definitions {
		if _, ok := snap.Definitions[id]; !ok {
			c.metrics.ForgetDefinition(id)
		}
	}
	for id := range old.conditionRules {
		if !snap.conditionRules[id] {
			c.metrics.ForgetRule(id)
		}
	}
	c.metrics.ActiveDefinitions.Set(float64(activeDefs))
	c.metrics.ActiveRules.Set(float64(activeRules))
	c.metrics.ConfigReloads.WithLabelValues(metrics.ResultOK).Inc()
	c.log.Info("configuration loaded", "version", v, "webhook_definitions", len(defs), "workflow_rules", len(rls))
	return true, nil
}

// Watcher reloads the catalog on every poll tick or nudge, calling onChange with each new
// snapshot, from Start until Stop.
type Watcher struct {
	startstop.Base
	c        *Catalog
	every    time.Duration
	onChange func(*Snapshot)
}

// Watcher makes c's watcher: it polls every interval.
func (c *Catalog) Watcher(every time.Duration, onChange func(*Snapshot)) *Watcher {
	return &Watcher{c: c, every: every, onChange: onChange}
}

// Start starts watching, once, until Stop or until ctx ends.
func (w *Watcher) Start(ctx context.Context) error {
	ctx, ok, stopped := w.StartInit(ctx)
	if !ok {
		return nil
	}
	go func() { defer stopped(); w.c.watch(ctx, w.every, w.onChange) }()
	return nil
}

// watch reloads on every poll tick or nudge until ctx ends, calling onChange with each new
// snapshot. Reloads that fail (a store that is down) are said once, when they start failing, and
// once when one succeeds again, not once per poll.
func (c *Catalog) watch(ctx context.Context, every time.Duration, onChange func(*Snapshot)) {
	t := time.NewTicker(every)
	defer t.Stop()
	reloads := NewReloadHealth(c.log, time.Now)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.changed:
		}
		changed, err := c.Load(ctx)
		if err != nil {
			if ctx.Err() == nil {
				reloads.observe(partConfiguration, err)
				c.log.Debug("reload configuration", "error", err)
			}
			continue
		}
		reloads.observe(partConfiguration, nil)
		if changed {
			onChange(c.Current())
		}
	}
}
