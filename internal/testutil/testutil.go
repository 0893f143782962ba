// Package testutil holds small helpers shared by the tests of several packages.
package testutil

import (
	"testing"
	"time"
)

// pollEvery is how often Eventually checks its condition: short next to any deadline a test
// sets, long enough that a condition that queries a store or a server does not load the machine.
const pollEvery = 10 * time.Millisecond

// Eventually checks cond until it holds, and fails the test (naming what it waited for) if it
// still does not hold within the given duration. Tests wait on a condition like this instead of
// sleeping. It must be called from the test's goroutine, as t.Fatalf must.
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		<-tick.C
	}
}
