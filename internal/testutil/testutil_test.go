package testutil_test

import (
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/webhookd/webhookd/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEventuallyReturnsOnceTheConditionHolds(t *testing.T) {
	var calls atomic.Int64
	testutil.Eventually(t, time.Minute, "the third call", func() bool { return calls.Add(1) == 3 })
	if n := calls.Load(); n != 3 {
		t.Errorf("condition checked %d times, want 3 (it holds on the third)", n)
	}
}

// recorder is a testing.TB that records a Fatalf instead of ending the test, so the failure
// path can be checked. Fatalf stops the calling goroutine, as the real one does.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestEventuallyFailsNamingWhatItWaitedFor(t *testing.T) {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		testutil.Eventually(r, 30*time.Millisecond, "godot", func() bool { return false })
	}()
	<-done
	if !strings.Contains(r.msg, "godot") {
		t.Fatalf("failure %q does not name what was awaited (or Eventually returned without failing)", r.msg)
	}
}
