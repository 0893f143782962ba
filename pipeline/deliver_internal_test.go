package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/consumer"
	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/metrics"
	"github.com/webhookd/webhookd/storage"
)

func TestGatesFollowTheConfiguration(t *testing.T) {
	t.Parallel()
	var gs gates
	a := &config.Definition{ID: "a", RateLimit: 5, MaxInFlight: 2}
	b := &config.Definition{ID: "b", RateLimit: 2}
	if gs.of(&config.Definition{ID: "none"}).limiter != nil {
		t.Error("a definition without rate_limit got a limiter")
	}
	ga := gs.of(a)
	if ga.limiter == nil || gs.of(a) != ga {
		t.Fatal("the gate of a definition is not kept between attempts")
	}
	gs.of(b)
	if changed := gs.of(&config.Definition{ID: "a", RateLimit: 9, MaxInFlight: 2}); changed == ga || changed.limiter.Limit() != 9 {
		t.Error("a changed rate_limit kept the old gate")
	}
	if changed := gs.of(&config.Definition{ID: "a", RateLimit: 9, MaxInFlight: 3}); cap(changed.slots) != 3 {
		t.Error("a changed max_in_flight kept the old slots")
	}
	gs.prune(&Snapshot{Definitions: map[string]*config.Definition{"b": b}})
	if _, ok := gs.m["a"]; ok || len(gs.m) != 2-1 {
		t.Errorf("gates after prune = %v, want only b", gs.m)
	}
}

// max_in_flight bounds attempts whichever path they come by: the fan-out's first attempts take
// a slot only when one is free, and never while the definition's last attempt failed.
func TestGateSlotsAreSharedAndFailingDefinitionsQueue(t *testing.T) {
	t.Parallel()
	g := newGate(&config.Definition{ID: "a", MaxInFlight: 2})
	if _, err := g.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !g.tryAcquire(context.Background(), 0) {
		t.Fatal("a free slot was refused")
	}
	if g.tryAcquire(context.Background(), 0) {
		t.Fatal("a third attempt got a slot of max_in_flight 2")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.acquire(ctx); err == nil {
		t.Fatal("acquire of a full gate returned without a slot")
	}
	g.release()
	g.failing.Store(true)
	if g.tryAcquire(context.Background(), 0) {
		t.Fatal("a failing definition's first attempt was made at once instead of queued")
	}
	g.release()
	if _, err := g.acquire(context.Background()); err != nil {
		t.Fatal("the queue's attempts of a failing definition must still get slots")
	}

	// A healthy definition's slot freed while the fan-out waits is taken, not queued around.
	g2 := newGate(&config.Definition{ID: "b", MaxInFlight: 1})
	g2.stall = time.Hour // slots come round: only the slot freed below ends the wait
	if _, err := g2.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	go g2.release()
	if !g2.tryAcquire(context.Background(), time.Minute) {
		t.Fatal("a slot freed during the wait was not taken")
	}
}

// stalledGate is the gate of a receiver that holds its one slot, none free for an hour.
func stalledGate(t *testing.T) *gate {
	t.Helper()
	g := newGate(&config.Definition{ID: "hanging", MaxInFlight: 1})
	if _, err := g.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	g.free.Store(time.Now().Add(-time.Hour).UnixNano())
	return g
}

// A receiver that holds every slot (hanging until its timeout) makes the fan-out wait no longer
// than the gate's stall, not directWait: its deliveries are queued, and the events waiting on
// it give their slots back to the others.
func TestGateStallsWithoutWaiting(t *testing.T) {
	t.Parallel()
	g := stalledGate(t)
	done := make(chan bool)
	go func() { done <- g.tryAcquire(context.Background(), time.Hour) }()
	select {
	case ok := <-done:
		if ok {
			t.Fatal("a full gate gave a slot")
		}
	case <-time.After(time.Minute):
		t.Fatal("the fan-out waited on a gate whose slots have not come back for an hour")
	}
	// Slots coming back again: the wait is on.
	g.release()
	if !g.tryAcquire(context.Background(), time.Hour) {
		t.Fatal("a free slot was refused")
	}
}

// An event for a definition whose receiver holds every slot takes no event slot at all: it
// would only keep it from the events of healthy definitions while it found that out.
func TestStalledGateTakesNoEventSlot(t *testing.T) {
	t.Parallel()
	g := stalledGate(t)
	f := &Fanout{direct: newSlots(1)}
	direct := &directAttempts{f: f}
	if direct.add(context.Background(), &task{WebhookID: "msg_1"}, &config.Definition{ID: "hanging"}, g) {
		t.Fatal("a first attempt was taken through a stalled gate")
	}
	if n := len(f.direct.slots); n != 0 {
		t.Errorf("%d event slots held for a stalled definition, want 0", n)
	}
}

// The waits the fan-out makes end with the shutdown, and a rate-limited definition with no
// attempt allowed now is not waited for at all.
func TestFanoutWaitsEndWithShutdownAndRateLimit(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	busy := newGate(&config.Definition{ID: "busy", MaxInFlight: 1})
	busy.stall = time.Hour // slots come round: only the shutdown ends the wait
	if _, err := busy.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	if busy.tryAcquire(ctx, time.Hour) {
		t.Fatal("a full gate gave a slot")
	}

	limited := newGate(&config.Definition{ID: "limited", MaxInFlight: 1, RateLimit: 0.001}) // one attempt per 1,000 s
	if !limited.tryAcquire(context.Background(), 0) {
		t.Fatal("the first attempt of a rate-limited definition was refused")
	}
	limited.release()
	if limited.tryAcquire(context.Background(), time.Hour) { // its one token is spent
		t.Fatal("a rate-limited definition got a second attempt before its token came back")
	}
	if n := len(limited.slots); n != 0 {
		t.Fatalf("%d slots held after a refusal by the rate limit", n)
	}

	f := &Fanout{direct: newSlots(1)}
	f.direct.stall = time.Hour
	if !f.takeDirect(context.Background()) {
		t.Fatal("a free event slot was refused")
	}
	if f.takeDirect(ctx) {
		t.Fatal("an event slot was taken from a full set")
	}
	f.direct.release()
	if !f.takeDirect(context.Background()) {
		t.Fatal("a free event slot was refused")
	}
}

// blockedStore holds every insert until release is closed, like a store busy with a large batch.
type blockedStore struct {
	Store
	inserting chan struct{} // closed at the first insert
	once      sync.Once
	release   chan struct{}
}

func (s *blockedStore) ReserveNumbers(context.Context, int) (int64, error) { return 1, nil }

func (s *blockedStore) InsertRequests(ctx context.Context, reqs []*storage.WebhookRequest) (int, error) {
	s.once.Do(func() { close(s.inserting) })
	select {
	case <-s.release:
		return len(reqs), nil
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// An event gives back its slot among those that may wait on attempts as soon as its attempts
// are over, while their outcomes are still being stored: storing is not the receiver's doing,
// and a slot held meanwhile made half of a burst's events queue their deliveries.
func TestEventSlotComesBackBeforeTheOutcomeIsStored(t *testing.T) {
	t.Parallel()
	store := &blockedStore{inserting: make(chan struct{}), release: make(chan struct{})}
	d, def, _ := testDeliverer(t, store)
	f := &Fanout{deliverer: d, direct: newSlots(1)}
	g, ok := d.directGate(def)
	if !ok {
		t.Fatal("a healthy definition was not given its gate")
	}
	direct := &directAttempts{f: f}
	defer direct.done()
	if !direct.add(context.Background(), &task{WebhookID: "msg_1", DefinitionID: "d1"}, def, g) {
		t.Fatal("the first attempt was not taken at once")
	}

	decision := make(chan consumer.Decision, 1)
	go func() { decision <- f.attemptNow(context.Background(), nil, direct)() }()
	<-store.inserting
	// The next event's slot, while the first's request is being written: a slot held until the
	// outcome is stored blocks this until the test times out.
	f.direct.slots <- struct{}{}
	<-f.direct.slots
	close(store.release)
	if dec := <-decision; dec.Action != consumer.Ack {
		t.Errorf("decision = %v, want ack once stored", dec.Action)
	}
}

// A gate's breaker opens after tripAfter retryable failures in a row, and only then: any other
// answer (a success, or a rejection such as a 400, which shows the receiver is up) resets the
// count.
func TestBreakerOpensOnlyAfterFailuresInARow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		answers []bool // true: a retryable failure
		open    bool
	}{
		{"one short", failuresThen(tripAfter - 1), false},
		{"exactly", failuresThen(tripAfter), true},
		{"an answer in between", append(failuresThen(tripAfter-1), append([]bool{false}, failuresThen(tripAfter-1)...)...), false},
		{"closed by an answer", append(failuresThen(tripAfter+5), false), false},
		{"opened again", append(append(failuresThen(tripAfter), false), failuresThen(tripAfter)...), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGate(&config.Definition{ID: "d", MaxInFlight: 4})
			for _, failed := range tc.answers {
				g.observe(failed)
			}
			if got := g.open.Load(); got != tc.open {
				t.Errorf("open = %v, want %v", got, tc.open)
			}
			if tc.open && g.tryAcquire(context.Background(), 0) {
				t.Error("the fan-out got a first attempt through an open breaker")
			}
		})
	}
}

func failuresThen(n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = true
	}
	return out
}

// An open breaker lets one attempt through at a time and no more than its probes' rate allows;
// the first answer closes it, and attempts then go through as before, every waiter included.
// A done context refuses only what acquire would have to wait for, which tells why it refused.
func TestOpenBreakerProbesOneAtATime(t *testing.T) {
	t.Parallel()
	g := newGate(&config.Definition{ID: "d", MaxInFlight: 4})
	if g.observe(true); g.open.Load() {
		t.Fatal("one failure opened the breaker")
	}
	for range tripAfter - 1 {
		g.observe(true)
	}
	if !g.open.Load() {
		t.Fatal("the breaker did not open")
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	g.probes = rate.NewLimiter(rate.Inf, 1) // a probe always due
	probe, err := g.acquire(done)
	if err != nil || !probe {
		t.Fatalf("a due probe: probe %v, err %v; want a probe without waiting", probe, err)
	}
	if _, err := g.acquire(done); err == nil {
		t.Fatal("a second attempt went through while the probe was in flight")
	}
	g.release()
	g.endProbe(probe)
	if g.observe(true) != breakerKept {
		t.Fatal("a failed probe changed the breaker")
	}
	g.probes = spentProbes()
	if _, err := g.acquire(done); err == nil {
		t.Fatal("a probe went through before it was due")
	}

	// Waiters for a probe that is not due, let through by the breaker closing.
	const waiters = 3
	got := make(chan error, waiters)
	for range waiters {
		go func() {
			probe, err := g.acquire(context.Background())
			if err == nil && probe {
				err = errors.New("went through as a probe after the breaker closed")
			}
			got <- err
		}()
	}
	// One waiter holds the probe's turn, waiting for its due time (an hour away); the others wait
	// for the turn. Only the breaker closing can let them through now.
	waitForProbeTurn(g)
	if g.observe(false) != breakerClosed { // a resend's answer, say: it takes no slot
		t.Fatal("an answer did not close the breaker")
	}
	for range waiters {
		if err := <-got; err != nil {
			t.Errorf("waiter: %v", err)
		}
	}
	if n := len(g.slots); n != waiters {
		t.Errorf("%d slots held, want %d", n, waiters)
	}
	if n := len(g.probing); n != 0 {
		t.Errorf("%d probes in flight after the breaker closed", n)
	}
}

// keptStore keeps what is inserted.
type keptStore struct {
	Store
	mu   sync.Mutex
	reqs []*storage.WebhookRequest
}

func (s *keptStore) ReserveNumbers(context.Context, int) (int64, error) { return 1, nil }

func (s *keptStore) InsertRequests(_ context.Context, reqs []*storage.WebhookRequest) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = append(s.reqs, reqs...)
	return len(reqs), nil
}

// testDeliverer is a Deliverer writing to store, whose catalog holds the one active
// definition d1 and whose receiver answers 200. Its endpoint health is never flushed, so it
// needs no NATS connection.
func testDeliverer(t *testing.T, store Store) (*Deliverer, *config.Definition, *answeringSender) {
	t.Helper()
	m := metrics.New(prometheus.NewRegistry(), "test")
	log := slog.New(slog.DiscardHandler)
	rec := NewRecorder(store, m, NewStoreHealth(log, time.Now))
	_ = rec.Start(context.Background())
	t.Cleanup(func() { rec.Stop(context.Background()) })
	cat := NewCatalog(newHealthStore(), m, log)
	def := &config.Definition{ID: "d1", Name: "D1", Active: true, MaxInFlight: 1, Logging: config.LoggingAll}
	cat.cur.Store(&Snapshot{Index: mustEmptyIndex(), Definitions: map[string]*config.Definition{"d1": def}})
	sender := &answeringSender{status: http.StatusOK}
	d := NewDeliverer(DelivererOptions{Catalog: cat, Sender: sender, Recorder: rec,
		Health: newHealth(newHealthStore(), nil, cat, m, log, time.Now), Metrics: m, Log: log, Now: time.Now})
	return d, def, sender
}

// spentProbes is a breaker's probe limiter whose next probe is due in an hour.
func spentProbes() *rate.Limiter {
	l := rate.NewLimiter(rate.Every(time.Hour), 1)
	l.Allow()
	return l
}

// waitingDeliverer is a testDeliverer whose definition d1's breaker is open with no probe due
// for an hour, so that a queued delivery to it waits.
func waitingDeliverer(t *testing.T) (*Deliverer, *config.Definition, *gate, *keptStore, *answeringSender) {
	t.Helper()
	store := &keptStore{}
	d, def, sender := testDeliverer(t, store)
	g := d.gates.of(def)
	for range tripAfter {
		g.observe(true)
	}
	g.probes = spentProbes()
	return d, def, g, store, sender
}

// waitForProbeTurn returns once a delivery waits for g's next probe.
func waitForProbeTurn(g *gate) {
	for len(g.probing) == 0 || g.probes.Tokens() >= 0 {
		runtime.Gosched()
	}
}

// A delivery waiting for its definition's gate is handed back as the shutdown begins, without an
// attempt, instead of holding the shutdown's grace period.
func TestGateWaitsEndWithStopWaiting(t *testing.T) {
	t.Parallel()
	d, def, g, _, sender := waitingDeliverer(t)
	decision := make(chan consumer.Decision, 1)
	go func() {
		decision <- d.deliver(context.Background(), &task{WebhookID: "msg_1", DefinitionID: "d1"}, def, nil, nil)
	}()
	waitForProbeTurn(g)
	d.StopWaiting()
	if dec := <-decision; dec.Action != consumer.HandBack {
		t.Errorf("decision = %v, want the delivery handed back", dec.Action)
	}
	if len(sender.sent) != 0 {
		t.Errorf("%d attempts made, want none", len(sender.sent))
	}
	if n := len(g.probing); n != 0 {
		t.Errorf("%d probes in flight after the wait ended", n)
	}
}

// A delivery reads its definition again after waiting for the gate: one deactivated meanwhile is
// finished as DEFINITION_INACTIVE, not attempted with the settings it had before.
func TestDefinitionIsReadAgainAfterTheWait(t *testing.T) {
	t.Parallel()
	d, def, g, store, sender := waitingDeliverer(t)
	decision := make(chan consumer.Decision, 1)
	go func() {
		decision <- d.deliver(context.Background(), &task{WebhookID: "msg_1", DefinitionID: "d1"}, def, nil, nil)
	}()
	waitForProbeTurn(g)
	inactive := *def
	inactive.Active = false
	d.catalog.cur.Store(&Snapshot{Index: mustEmptyIndex(), Definitions: map[string]*config.Definition{"d1": &inactive}})
	g.observe(false) // the breaker closes: the wait is over
	if dec := <-decision; dec.Action != consumer.Ack {
		t.Fatalf("decision = %v, want ack once stored", dec.Action)
	}
	if len(sender.sent) != 0 {
		t.Errorf("%d attempts made to a deactivated definition, want none", len(sender.sent))
	}
	if len(store.reqs) != 1 || store.reqs[0].ErrorCode != string(controlapi.CodeDefinitionInactive) {
		t.Errorf("stored %+v, want one request rejected with DEFINITION_INACTIVE", store.reqs)
	}
	if n, p := len(g.slots), len(g.probing); n != 0 || p != 0 {
		t.Errorf("%d slots and %d probes held after the delivery was finished", n, p)
	}
}
