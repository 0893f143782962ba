package pipeline

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/internal/natstest"
	"github.com/webhookd/webhookd/metrics"
	"github.com/webhookd/webhookd/storage"
)

// healthStore is a fake of the worker's Store for endpoint health: it keeps the failure window
// the way the real stores do (storagetest checks those).
type healthStore struct {
	Store      // only the methods below are used
	mu         sync.Mutex
	health     map[string]storage.DefinitionHealth
	disabled   map[string]string
	disabledAt time.Time // of the last deactivation
}

func (s *healthStore) RecordFailures(_ context.Context, id string, n int64, at time.Time) (storage.DefinitionHealth, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.health[id]
	if h.FailingSince.IsZero() {
		h.FailingSince = at
	}
	h.ID, h.Failures = id, h.Failures+n
	s.health[id] = h
	return h, nil
}

func (s *healthStore) ClearFailures(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.health, id)
	return nil
}

func (s *healthStore) DisableDefinition(_ context.Context, id, reason string, at time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.disabled[id]; ok {
		return false, nil
	}
	s.disabled[id] = reason
	s.disabledAt = at
	return true, nil
}

func (s *healthStore) disabledReason(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.disabled[id]
}

func newHealthStore() *healthStore {
	return &healthStore{health: map[string]storage.DefinitionHealth{}, disabled: map[string]string{}}
}

func TestEndpointHealthDisablesAfterTheWindow(t *testing.T) {
	t.Parallel()
	nc, err := nats.Connect(natstest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	notices := make(chan *nats.Msg, 4)
	sub, err := nc.ChanSubscribe(controlapi.SubjectDefinitionDisabled, notices)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	store := newHealthStore()
	m := metrics.New(prometheus.NewRegistry(), "test")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cat := NewCatalog(store, m, log)
	def := &config.Definition{ID: "d1", Name: "D1", Active: true, DisableAfter: config.Duration(72 * time.Hour)}
	never := &config.Definition{ID: "d2", Name: "D2", Active: true, DisableAfter: 0}
	cat.cur.Store(&Snapshot{Index: mustEmptyIndex(), Definitions: map[string]*config.Definition{"d1": def, "d2": never}})

	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	h := newHealth(store, nc, cat, m, log, func() time.Time { return now })
	ctx := context.Background()
	fail := func(d *config.Definition, n int) {
		for range n {
			h.observe(d, false, false)
		}
		h.Flush(ctx)
	}

	fail(def, 30)
	fail(never, 30)
	now = now.Add(71 * time.Hour)
	fail(def, 1)
	if len(store.disabled) != 0 {
		t.Fatalf("disabled before disable_after: %v", store.disabled)
	}
	// A success resets the window.
	h.observe(def, true, false)
	h.Flush(ctx)
	now = now.Add(2 * time.Hour)
	fail(def, 25)
	if len(store.disabled) != 0 {
		t.Fatalf("disabled although a success came %s ago: %v", 2*time.Hour, store.disabled)
	}
	// 72h of failures, but fewer than 20 attempts: kept.
	now = now.Add(73 * time.Hour)
	store.health["d1"] = storage.DefinitionHealth{ID: "d1", FailingSince: now.Add(-80 * time.Hour), Failures: 5}
	fail(def, 1)
	if len(store.disabled) != 0 {
		t.Fatalf("disabled with only 6 attempts in the window: %v", store.disabled)
	}
	fail(def, 20)
	if store.disabled["d1"] == "" {
		t.Fatal("not disabled after 72h and 26 failed attempts")
	}
	fail(never, 100)
	if _, ok := store.disabled["d2"]; ok {
		t.Error("a definition with disable_after 0 was disabled")
	}
	select {
	case msg := <-notices:
		var n controlapi.DefinitionDisabled
		if err := json.Unmarshal(msg.Data, &n); err != nil || n.ID != "d1" || n.Name != "D1" || n.Reason != "every attempt failed for 72h" || !n.Time.Equal(now) {
			t.Errorf("notice = %s (%v)", msg.Data, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no notice published")
	}
}

func TestGoneDisablesAtOnce(t *testing.T) {
	t.Parallel()
	nc, err := nats.Connect(natstest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	store := newHealthStore()
	m := metrics.New(prometheus.NewRegistry(), "test")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cat := NewCatalog(store, m, log)
	def := &config.Definition{ID: "d1", Name: "D1", Active: true, DisableAfter: config.Duration(72 * time.Hour)}
	cat.cur.Store(&Snapshot{Index: mustEmptyIndex(), Definitions: map[string]*config.Definition{"d1": def}})
	h := newHealth(store, nc, cat, m, log, time.Now)
	h.observe(def, false, true)
	h.Flush(context.Background())
	if store.disabled["d1"] != "the receiver answered 410 Gone" {
		t.Errorf("disabled = %v", store.disabled)
	}
}

// A resend's 410 deactivates before the resend answers (goneNow), once: the next flush has
// nothing more to do for it.
func TestGoneNowDisablesBeforeTheFlush(t *testing.T) {
	t.Parallel()
	nc, err := nats.Connect(natstest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	store := newHealthStore()
	m := metrics.New(prometheus.NewRegistry(), "test")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cat := NewCatalog(store, m, log)
	def := &config.Definition{ID: "d1", Name: "D1", Active: true}
	cat.cur.Store(&Snapshot{Index: mustEmptyIndex(), Definitions: map[string]*config.Definition{"d1": def}})
	h := newHealth(store, nc, cat, m, log, time.Now)
	h.observe(def, false, true) // as deliverer.attempt does, before the resend's goneNow
	h.goneNow(context.Background(), def)
	if store.disabledReason("d1") != goneReason {
		t.Fatalf("disabled = %v, want d1 at once", store.disabled)
	}
	h.mu.Lock()
	left := len(h.gone)
	h.mu.Unlock()
	if left != 0 {
		t.Errorf("the flush would deactivate %d definitions again", left)
	}
	if n := testutil.ToFloat64(m.DefinitionsDisabled.WithLabelValues("d1")); n != 1 {
		t.Errorf("webhookd_definitions_disabled_total{d1} = %v, want 1", n)
	}
}

// The notice's time is in milliseconds, like every other time webhookd shows, and is the time
// stored as disabled_at.
func TestNoticeTimeInMilliseconds(t *testing.T) {
	t.Parallel()
	nc, err := nats.Connect(natstest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	notices := make(chan *nats.Msg, 1)
	sub, err := nc.ChanSubscribe(controlapi.SubjectDefinitionDisabled, notices)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	store := newHealthStore()
	m := metrics.New(prometheus.NewRegistry(), "test")
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	at := time.Date(2025, 3, 1, 10, 0, 0, 123456789, time.UTC)
	h := newHealth(store, nc, NewCatalog(store, m, log), m, log, func() time.Time { return at })
	h.goneNow(context.Background(), &config.Definition{ID: "erp-sync", Name: "ERP"})
	select {
	case msg := <-notices:
		var raw struct {
			Time string `json:"time"`
		}
		if err := json.Unmarshal(msg.Data, &raw); err != nil {
			t.Fatal(err)
		}
		if raw.Time != "2025-03-01T10:00:00.123Z" {
			t.Errorf("notice time %q, want 2025-03-01T10:00:00.123Z", raw.Time)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notice")
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if !store.disabledAt.Equal(at.Truncate(time.Millisecond)) {
		t.Errorf("stored %v, want the notice's time", store.disabledAt)
	}
}
