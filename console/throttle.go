package console

import (
	"sync"
	"time"
)

// throttle slows down guessing: after freeFailures wrong passwords for one user, or from one
// client address, each further attempt for that key must wait, twice as long after each
// failure (1s, 2s, 4s … up to maxLockout). A success clears the user's and the address's count;
// a key untouched for forgetAfter is forgotten. Its memory is bounded by maxKeys.
type throttle struct {
	mu   sync.Mutex
	keys map[string]*failures
	now  func() time.Time
}

type failures struct {
	n     int
	last  time.Time
	until time.Time // no attempt before this
}

const (
	freeFailures = 5
	maxLockout   = 5 * time.Minute
	forgetAfter  = time.Hour
	maxKeys      = 10000
)

func newThrottle(now func() time.Time) *throttle {
	return &throttle{keys: map[string]*failures{}, now: now}
}

// wait is how long the keys must wait before an attempt; 0: go ahead.
func (t *throttle) wait(keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var d time.Duration
	for _, k := range keys {
		if f := t.keys[k]; f != nil && f.until.After(now) {
			d = max(d, f.until.Sub(now))
		}
	}
	return d
}

// fail counts a wrong password for each key.
func (t *throttle) fail(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for _, k := range keys {
		f := t.keys[k]
		if f == nil || now.Sub(f.last) > forgetAfter {
			if len(t.keys) >= maxKeys {
				t.prune(now)
			}
			f = &failures{}
			t.keys[k] = f
		}
		f.n++
		f.last = now
		if f.n >= freeFailures {
			lock := maxLockout
			if shift := f.n - freeFailures; shift < 9 {
				lock = min(maxLockout, time.Second<<shift)
			}
			f.until = now.Add(lock)
		}
	}
}

// succeed clears the keys' failures.
func (t *throttle) succeed(keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys {
		delete(t.keys, k)
	}
}

// prune forgets stale entries, then, if that was not enough, entries older than half of
// forgetAfter and any others until there is room.
func (t *throttle) prune(now time.Time) {
	for k, f := range t.keys {
		if now.Sub(f.last) > forgetAfter {
			delete(t.keys, k)
		}
	}
	if len(t.keys) < maxKeys {
		return
	}
	cut := now.Add(-forgetAfter / 2)
	for k, f := range t.keys {
		if f.last.Before(cut) || len(t.keys) >= maxKeys {
			delete(t.keys, k)
		}
	}
}
