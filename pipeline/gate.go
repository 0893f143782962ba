package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/webhookd/webhookd/config"
)

// gate is a definition's share of its receiver: at most max_in_flight attempts at once and at
// most rate_limit a second, whichever path an attempt comes by (a first attempt made by the
// fan-out, or a task of the definition's consumer). A slot is held for the HTTP attempt only,
// not while its outcome is stored, since max_in_flight bounds what the receiver sees.
type gate struct {
	maxInFlight int
	slots       chan struct{}
	limiter     *rate.Limiter // nil: no rate_limit
	// failing: the definition's last attempt failed. Its first attempts then go through its
	// queue, never through the fan-out, so a receiver that is down or hanging holds no event.
	failing atomic.Bool
	// free is when a slot was last seen free or given back (Unix nanoseconds; the gate's making
	// at first). The fan-out waits for a slot only while slots come round: a receiver that holds
	// every slot (hanging until its timeout, or slow) would otherwise hold each waiting event
	// directWait, and with it a slot of the events that may wait on attempts, for nothing.
	free  atomic.Int64
	stall time.Duration // no slot free for this long: the fan-out stops waiting (stallAfter)

	// The breaker: after tripAfter attempts in a row failed with a retryable outcome (an
	// error, a timeout, 408, 425, 429, 5xx), the receiver is down or overloaded, and each
	// further attempt only burns one of its deliveries' attempts, loads it more, and takes CPU
	// from the healthy definitions. The gate then lets one attempt through at a time, at most
	// one per probeEvery (a probe, an ordinary attempt of a due delivery); the first answer that
	// is not a retryable failure closes it. Deliveries wait their turn, queued, their attempts
	// not spent.
	failures atomic.Int32 // retryable failures in a row
	open     atomic.Bool
	probing  chan struct{} // the one probe in flight while open
	probes   *rate.Limiter
	breaker  sync.Mutex                    // serialises opening and closing
	closed   atomic.Pointer[chan struct{}] // closed when the breaker last opened closes
}

// tripAfter is how many retryable failures in a row open a gate's breaker: more than a default
// max_in_flight's worth, since a receiver that goes down fails every attempt then in flight at
// once; from a receiver that answers a third of its attempts, 40 failures in a row are a chance
// of about one in ten million.
const tripAfter = 40

// probeEvery is how often an open breaker lets an attempt through.
const probeEvery = time.Second

// breakerChange is what one attempt's outcome did to a gate's breaker.
type breakerChange int

const (
	breakerKept breakerChange = iota
	breakerOpened
	breakerClosed
)

// stallAfter is how long a full gate may go without a slot coming back before the fan-out
// queues its deliveries instead of waiting: a fast receiver under a burst gives one back
// every fraction of a millisecond.
const stallAfter = 20 * time.Millisecond

func newGate(def *config.Definition) *gate {
	g := &gate{maxInFlight: max(def.MaxInFlight, 1), stall: stallAfter,
		probing: make(chan struct{}, 1), probes: rate.NewLimiter(rate.Every(probeEvery), 1)}
	g.free.Store(time.Now().UnixNano())
	g.slots = make(chan struct{}, g.maxInFlight)
	if def.RateLimit > 0 {
		g.limiter = rate.NewLimiter(rate.Limit(def.RateLimit), max(int(def.RateLimit), 1))
	}
	return g
}

// newSlots is a gate of n slots with neither rate limit nor a definition behind it: the fan-out's
// slots of the events that may wait on attempts, taken with tryAcquire and its stall rule.
func newSlots(n int) *gate { return newGate(&config.Definition{MaxInFlight: n}) }

// stalled reports whether every slot is held and none has come free for the stall: a waiter
// would give up at once.
func (g *gate) stalled() bool {
	return len(g.slots) == cap(g.slots) && g.quiet(time.Now()) >= g.stall
}

// quiet is how long, at now, no slot has been seen free.
func (g *gate) quiet(now time.Time) time.Duration { return now.Sub(time.Unix(0, g.free.Load())) }

// fits reports whether the gate still matches def's settings.
func (g *gate) fits(def *config.Definition) bool {
	if g.maxInFlight != max(def.MaxInFlight, 1) {
		return false
	}
	if def.RateLimit <= 0 {
		return g.limiter == nil
	}
	return g.limiter != nil && float64(g.limiter.Limit()) == def.RateLimit
}

// acquire waits for the breaker's turn if it is open, the rate limit and a slot. release gives
// the slot back, and endProbe the turn when probe is true. A free slot and a free, due probe
// turn are taken without looking at ctx (the rate limit's Wait looks at it first).
func (g *gate) acquire(ctx context.Context) (probe bool, err error) {
	for {
		if probe, err = g.probeTurn(ctx); err != nil {
			return false, err
		}
		if g.limiter != nil {
			if err := g.limiter.Wait(ctx); err != nil {
				g.endProbe(probe)
				return false, err
			}
		}
		select {
		case g.slots <- struct{}{}:
		default:
			select {
			case g.slots <- struct{}{}:
			case <-ctx.Done():
				g.endProbe(probe)
				return false, ctx.Err()
			}
		}
		if probe || !g.open.Load() {
			return probe, nil
		}
		// The breaker opened while this one waited for a slot: it waits for a probe's turn
		// like the others, so that only the attempts already under way go past an open breaker.
		g.release()
	}
}

// probeTurn waits, while the breaker is open, until no probe is in flight and one is due. The
// breaker closing ends the wait: each waiter in turn finds it closed and goes on.
func (g *gate) probeTurn(ctx context.Context) (probe bool, err error) {
	if !g.open.Load() {
		return false, nil
	}
	closed := *g.closed.Load()
	select {
	case g.probing <- struct{}{}:
	default:
		select {
		case g.probing <- struct{}{}:
		case <-closed:
			return false, nil
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	if !g.open.Load() {
		<-g.probing
		return false, nil
	}
	r := g.probes.Reserve()
	if d := r.Delay(); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-closed:
			r.Cancel()
			<-g.probing
			return false, nil
		case <-ctx.Done():
			r.Cancel()
			<-g.probing
			return false, ctx.Err()
		}
	}
	return true, nil
}

// endProbe ends the turn probeTurn gave.
func (g *gate) endProbe(probe bool) {
	if probe {
		<-g.probing
	}
}

// observe feeds the breaker one attempt's outcome: whether it failed in a way that is retried.
// Most outcomes change nothing and take no lock.
func (g *gate) observe(retryable bool) breakerChange {
	if !retryable {
		g.failures.Store(0)
		if !g.open.Load() {
			return breakerKept
		}
	} else if g.failures.Add(1) < tripAfter || g.open.Load() {
		return breakerKept
	}
	g.breaker.Lock()
	defer g.breaker.Unlock()
	switch {
	case !retryable && g.open.Load():
		g.open.Store(false)
		close(*g.closed.Load())
		return breakerClosed
	case retryable && !g.open.Load() && g.failures.Load() >= tripAfter:
		ch := make(chan struct{})
		g.closed.Store(&ch) // before open: a waiter that sees it open finds its channel
		g.open.Store(true)
		return breakerOpened
	}
	return breakerKept
}

// tryAcquire takes a slot only if the definition's last attempt did not fail, the rate limit
// allows an attempt now, and a slot is free within wait while slots keep coming round (none free
// for the gate's stall: it stops waiting). Under a burst a healthy definition's slots free up
// every fraction of a millisecond: waiting for one is much cheaper than queueing the delivery.
func (g *gate) tryAcquire(ctx context.Context, wait time.Duration) bool {
	if g.failing.Load() || g.open.Load() {
		return false
	}
	if g.limiter != nil && g.limiter.Tokens() < 1 {
		return false // a slot would be refused by the rate limit after the wait
	}
	select {
	case g.slots <- struct{}{}:
		g.free.Store(time.Now().UnixNano())
	default:
		if !g.waitForSlot(ctx, wait) {
			return false
		}
	}
	if g.limiter != nil && !g.limiter.Allow() {
		<-g.slots // no attempt was made: the slot is given back without saying slots come round
		return false
	}
	return true
}

// waitForSlot waits up to wait for a slot of a full gate, for as long as a slot was free within
// the last stall: it gives up at the latest one stall after the last one was.
func (g *gate) waitForSlot(ctx context.Context, wait time.Duration) bool {
	deadline := time.Now().Add(wait)
	var t *time.Timer
	for {
		now := time.Now()
		left := deadline.Sub(now)
		quiet := g.quiet(now)
		if left <= 0 || quiet >= g.stall {
			return false
		}
		step := min(left, g.stall-quiet)
		if t == nil {
			t = time.NewTimer(step)
			defer t.Stop()
		} else {
			t.Reset(step)
		}
		select {
		case g.slots <- struct{}{}:
			return true
		case <-t.C:
		case <-ctx.Done():
			return false
		}
	}
}

// release gives back the slot acquire or tryAcquire took.
func (g *gate) release() {
	<-g.slots
	g.free.Store(time.Now().UnixNano())
}

// gates holds each definition's gate; a changed max_in_flight or rate_limit gets a new one
// (attempts holding a slot of the old one give it back there).
type gates struct {
	mu sync.Mutex
	m  map[string]*gate // by definition id
}

func (gs *gates) of(def *config.Definition) *gate {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	if gs.m == nil {
		gs.m = make(map[string]*gate)
	}
	g := gs.m[def.ID]
	if g == nil || !g.fits(def) {
		g = newGate(def)
		gs.m[def.ID] = g
	}
	return g
}

// prune forgets the gates of definitions that are gone, so the map stays bounded by the
// configuration.
func (gs *gates) prune(snap *Snapshot) {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	for id := range gs.m {
		if snap.Definition(id) == nil {
			delete(gs.m, id)
		}
	}
}
