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
	if !g.tryAcquire(0) {
		t.Fatal("a free slot was refused")
	}
	if g.tryAcquire(0) {
		t.Fatal("a third attempt got a slot of max_in_flight 2")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.acquire(ctx); err == nil {
		t.Fatal("acquire of a full gate returned without a slot")
	}
	g.release()
	g.failing.Store(true)
	if g.tryAcquire(0) {
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
	if !g2.tryAcquire(time.Minute) {
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
	g.released.Store(time.Now().Add(-time.Hour).UnixNano()) // no slot back for an hour
	done := make(chan bool)
	go func() { done <- g.tryAcquire(time.Hour) }()
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
	if !g.tryAcquire(time.Hour) {
		t.Fatal("a free slot was refused")
	}
}
