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
	if err := g2.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	go g2.release()
	if !g2.tryAcquire(time.Minute) {
		t.Fatal("a slot freed during the wait was not taken")
	}
}
