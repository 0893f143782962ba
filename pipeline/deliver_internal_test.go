package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/webhookd/webhookd/config"
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
	if err := g.acquire(context.Background()); err != nil {
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
	if err := g.acquire(ctx); err == nil {
		t.Fatal("acquire of a full gate returned without a slot")
	}
	g.release()
	g.failing.Store(true)
	if g.tryAcquire(context.Background(), 0) {
		t.Fatal("a failing definition's first attempt was made at once instead of queued")
	}
	g.release()
	if err := g.acquire(context.Background()); err != nil {
		t.Fatal("the queue's attempts of a failing definition must still get slots")
	}

	// A healthy definition's slot freed while the fan-out waits is taken, not queued around.
	g2 := newGate(&config.Definition{ID: "b", MaxInFlight: 1})
	g2.stall = time.Hour // slots come round: only the slot freed below ends the wait
	if err := g2.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	go g2.release()
	if !g2.tryAcquire(context.Background(), time.Minute) {
		t.Fatal("a slot freed during the wait was not taken")
	}
}

// A receiver that holds every slot (hanging until its timeout) makes the fan-out wait no longer
// than the gate's stall, not directWait: its deliveries are queued, and the events waiting on
// it give their slots back to the others.
func TestGateStallsWithoutWaiting(t *testing.T) {
	t.Parallel()
	g := newGate(&config.Definition{ID: "hanging", MaxInFlight: 1})
	if err := g.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	g.free.Store(time.Now().Add(-time.Hour).UnixNano()) // no slot free for an hour
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

// The waits the fan-out makes end with the shutdown, and a rate-limited definition with no
// attempt allowed now is not waited for at all.
func TestFanoutWaitsEndWithShutdownAndRateLimit(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	busy := newGate(&config.Definition{ID: "busy", MaxInFlight: 1})
	busy.stall = time.Hour // slots come round: only the shutdown ends the wait
	if err := busy.acquire(context.Background()); err != nil {
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

	f := &Fanout{direct: make(chan struct{}, 1)}
	f.direct <- struct{}{}
	if f.takeDirect(ctx) {
		t.Fatal("an event slot was taken from a full set")
	}
	<-f.direct
	if !f.takeDirect(context.Background()) {
		t.Fatal("a free event slot was refused")
	}
}
