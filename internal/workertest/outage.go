package workertest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/webhookd/webhookd/consumer"
	"github.com/webhookd/webhookd/event"
	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/worker"
)

// Outage is a fault of the store (and, standalone, of the disk JetStream shares with it) that
// a test injects into a running worker, mid-stream.
type Outage struct {
	// Begin starts the outage; End ends it. When Restart is set, End also restarts the worker
	// (e.Stop, e.Start): the outage ends only with the process, as a disk the kernel has
	// remounted read-only does.
	Begin, End func(e *Env)
	Restart    bool
	// For is how long the outage lasts at least (and until its writes have failed a few times).
	For time.Duration
	// StoreURI: MongoDB, the URI the test reads the store at, past the outage (Env.StoreURI).
	StoreURI string
	// JetStream: the embedded JetStream's store fails too (its disk is the store's); events
	// are then not accepted until it is back, and their publisher retries them.
	JetStream bool
	// Log is the shape of the worker's log (log/slog's text or JSON handler), for the
	// scenario to read it.
	Log func(w io.Writer) slog.Handler
}

// Log lines the scenario counts.
const (
	StoreFailingLine      = "store writes failing"
	StoreBackLine         = "store writes succeed again"
	JetStreamFailingLine  = "JetStream store writes failing"
	JetStreamBackLine     = "JetStream store writes succeed again"
	QueueFailingLine      = "queueing deliveries on JetStream failing"
	ConfigFailingLine     = "reloading the configuration failing"
	outageHeld, outageNew = 5, 5 // deliveries held at the outage's start, events published during it
)

// OutageKeepsPromises runs a worker through o (CONTRACT.md section 3, issue "outages keep their
// promises"): deliveries whose attempt ended as the outage began are held, not acknowledged,
// until their webhook requests are stored, and not attempted again; events published during it
// are delivered (once JetStream takes them, when it shares the disk); webhookd stays up, /readyz
// says why it is not ready, and the log says what happened once, not once per message. After
// it, every delivery is stored exactly once and /readyz is ready again. tweak chooses the store
// and the data directory.
func OutageKeepsPromises(t *testing.T, o Outage, tweak ...func(*worker.Options)) {
	t.Helper()
	rc := NewReceiver(t, nil)
	var logs testutil.LogBuffer
	if o.Log == nil {
		o.Log = func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) }
	}
	tweak = append(tweak, func(opts *worker.Options) { opts.Logger = slog.New(o.Log(&logs)) })
	t.Cleanup(func() {
		if t.Failed() || testing.Verbose() {
			t.Logf("the worker's log:\n%s", logs.String())
		}
	})
	e := Setup(t, ConfigOf([]string{DefinitionYAML("d1", rc.URL, "")}, []string{RuleYAML("r1", "customer", "d1")}), tweak...)
	if o.StoreURI != "" {
		e.CloseStore()
		e.StoreURI = o.StoreURI
		e.OpenStore()
	}
	newEvent := func(id string) Event {
		return Event{ID: id, Entity: "customer", EntityID: "C", Action: "updated", Data: map[string]any{}}
	}
	e.Publish(newEvent("before"))
	e.WaitRequests(1, storage.Filter{})
	acks := e.countAcks(t)

	// Mid-stream: the receiver holds these attempts while the outage begins, then answers.
	release := rc.Hold()
	for i := range outageHeld {
		e.Publish(newEvent(fmt.Sprintf("held-%d", i)))
	}
	testutil.Eventually(t, time.Minute, "the held deliveries at the receiver", func() bool { return rc.Count() == 1+outageHeld })
	o.Begin(e)
	lasted := time.NewTimer(o.For)
	defer lasted.Stop()
	release()
	// And events keep coming, from a publisher that retries each until JetStream takes it.
	published := e.publishUntilTaken(t, "during", outageNew)

	testutil.Eventually(t, time.Minute, "the log to say the store fails", func() bool {
		return strings.Contains(logs.String(), StoreFailingLine)
	})
	if o.JetStream {
		testutil.Eventually(t, time.Minute, "the log to say JetStream's store fails", func() bool {
			return strings.Contains(logs.String(), JetStreamFailingLine)
		})
	} else {
		testutil.Eventually(t, time.Minute, "the deliveries of the events published during the outage", func() bool {
			return rc.Count() == 1+outageHeld+outageNew
		})
	}
	duringOutage := func() {
		t.Helper()
		status, body := httpGet(t, "http://"+e.W.HTTPAddr()+"/readyz")
		if status != http.StatusServiceUnavailable || !strings.Contains(body, "writes failing") ||
			(o.JetStream && !strings.Contains(body, "JetStream")) {
			t.Errorf("/readyz during the outage = %d %q, want 503 saying what fails", status, body)
		}
		if status, _ := httpGet(t, "http://"+e.W.HTTPAddr()+"/healthz"); status != http.StatusOK {
			t.Errorf("/healthz during the outage = %d, want 200: webhookd stays up", status)
		}
		// Nothing is acknowledged without its document: no delivery task, and no event but
		// those whose delivery was queued as a task instead.
		if stored := len(e.Requests(storage.Filter{})); stored != 1 {
			t.Errorf("%d webhook requests stored during the outage, want only the one before it", stored)
		}
		tasks, events, queued := acks()
		if tasks > 0 || events > queued {
			t.Errorf("acknowledged during the outage: %d delivery tasks and %d events, %d deliveries queued, none stored: acknowledged without their documents",
				tasks, events, queued)
		}
	}
	duringOutage()
	// The outage goes on: held writes are retried with backoff, and every poll of the
	// configuration, every flush of endpoint health and every sample of the gauges meets it.
	testutil.Eventually(t, time.Minute, "the held writes retried", func() bool { return storageErrors(t, e) >= 2 })
	<-lasted.C
	duringOutage()

	o.End(e)
	testutil.Eventually(t, 2*time.Minute, "the events published during the outage taken by JetStream", func() bool {
		return published.Load() == outageNew
	})
	reqs := e.WaitRequests(1+outageHeld+outageNew, storage.Filter{})
	seen := map[string]int{}
	for _, r := range reqs {
		seen[r.EventID]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event %s has %d webhook requests, want 1", id, n)
		}
	}
	if len(seen) != 1+outageHeld+outageNew {
		t.Errorf("%d events have webhook requests, want %d", len(seen), 1+outageHeld+outageNew)
	}
	attempts := map[string]int{}
	for _, r := range rc.Requests() {
		attempts[r.Header.Get("webhook-id")]++
	}
	for id, n := range attempts {
		// A restart hands held deliveries back (at least once, CONTRACT.md section 3); without
		// one, a held delivery is never attempted again.
		if n > 1 && !o.Restart || n > 2 {
			t.Errorf("delivery %s attempted %d times", id, n)
		}
	}
	testutil.Eventually(t, time.Minute, "/readyz to be ready again", func() bool {
		status, _ := httpGet(t, "http://"+e.W.HTTPAddr()+"/readyz")
		return status == http.StatusOK
	})
	out := logs.String()
	if !o.Restart {
		testutil.Eventually(t, time.Minute, "the log to say the store is back", func() bool {
			return strings.Contains(logs.String(), StoreBackLine)
		})
		if o.JetStream && !strings.Contains(out, JetStreamBackLine) {
			t.Errorf("the log does not say JetStream's store is back:\n%s", out)
		}
	}
	// From the first outage line on (until the stop that ends it, with a restart), each fault
	// is said once and nothing else is a warning or an error: not even the pull each consumer
	// makes again after JetStream restarted, once its heartbeats are missed (a debug line).
	during := out
	if o.Restart {
		during, _, _ = strings.Cut(out, "webhookd stopping")
	}
	counts := map[string]int{}
	var others []string
	for _, line := range strings.Split(during, "\n") {
		if !problem(line) {
			continue
		}
		switch {
		case strings.Contains(line, JetStreamFailingLine):
			counts[JetStreamFailingLine]++
		case strings.Contains(line, StoreFailingLine):
			counts[StoreFailingLine]++
		case strings.Contains(line, QueueFailingLine):
			counts[QueueFailingLine]++
		case strings.Contains(line, ConfigFailingLine):
			counts[ConfigFailingLine]++
		default:
			if counts[StoreFailingLine]+counts[JetStreamFailingLine] > 0 {
				others = append(others, line)
			}
		}
	}
	want := map[string]int{StoreFailingLine: 1}
	if o.JetStream {
		want[JetStreamFailingLine] = 1
	}
	for _, line := range []string{StoreFailingLine, JetStreamFailingLine} {
		if counts[line] != want[line] {
			t.Errorf("%q logged %d times, want %d:\n%s", line, counts[line], want[line], out)
		}
	}
	for _, line := range []string{QueueFailingLine, ConfigFailingLine} {
		if counts[line] > 1 {
			t.Errorf("%q logged %d times, want once at most:\n%s", line, counts[line], out)
		}
	}
	if len(others) > 0 {
		t.Errorf("%d more warnings and errors during the outage, want none beyond its lines:\n%s", len(others), strings.Join(others, "\n"))
	}
}

// problem reports whether a line of a text or JSON log is a warning or an error.
func problem(line string) bool {
	for _, level := range []string{"level=WARN", "level=ERROR", `"level":"WARN"`, `"level":"ERROR"`} {
		if strings.Contains(line, level) {
			return true
		}
	}
	return false
}

// countAcks waits until the worker has acknowledged everything it was given so far, then counts
// the acknowledgements (+ACK) it sends from now on, of delivery tasks and of events, and the
// delivery tasks queued: it listens on JetStream's ack subjects as the server does.
func (e *Env) countAcks(t testing.TB) func() (tasks, events, queued int) {
	t.Helper()
	ctx := context.Background()
	tasksQueued := func() int {
		s, err := e.JS.Stream(ctx, consumer.DeliveriesStream)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return int(info.State.LastSeq)
	}
	testutil.Eventually(t, time.Minute, "everything so far acknowledged", func() bool {
		info, err := e.JS.Consumer(ctx, event.StreamName, consumer.EventsConsumer)
		if err != nil {
			return false
		}
		ev, err := info.Info(ctx)
		if err != nil || ev.NumAckPending+int(ev.NumPending) > 0 {
			return false
		}
		s, err := e.JS.Stream(ctx, consumer.DeliveriesStream)
		if err != nil {
			return false
		}
		ds, err := s.Info(ctx)
		return err == nil && ds.State.Msgs == 0 // a work queue: acknowledged tasks are removed
	})
	var mu sync.Mutex
	counts := map[string]int{}
	sub, err := e.NC.Subscribe("$JS.ACK.>", func(m *nats.Msg) {
		if !bytes.HasPrefix(m.Data, []byte("+ACK")) {
			return
		}
		// $JS.ACK.<stream>.<consumer>... or, with a domain, $JS.ACK.<domain>.<account>.<stream>...
		tokens := strings.Split(m.Subject, ".")
		stream := tokens[2]
		if len(tokens) > 9 {
			stream = tokens[4]
		}
		mu.Lock()
		counts[stream]++
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := e.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	before := tasksQueued()
	return func() (tasks, events, queued int) {
		queued = tasksQueued() - before
		mu.Lock()
		defer mu.Unlock()
		return counts[consumer.DeliveriesStream], counts[event.StreamName], queued
	}
}

// publishUntilTaken publishes n events named prefix-0... in the background, each again until
// JetStream acknowledges it (as publishers must: a full disk refuses them), and counts those taken.
func (e *Env) publishUntilTaken(t testing.TB, prefix string, n int) *atomic.Int64 {
	var taken atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range n {
			// Large enough that a full disk has no room left for one in the stream's block.
			x := Event{ID: fmt.Sprintf("%s-%d", prefix, i), Entity: "customer", EntityID: "C", Action: "updated",
				Data: map[string]any{"notes": strings.Repeat("n", 16<<10)}}
			for e.TryPublish(ctx, x) != nil {
				// A refusal can be quick (no JetStream while it restarts): retry at a pace.
				select {
				case <-ctx.Done():
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
			taken.Add(1)
		}
	}()
	return &taken
}

// storageErrors is the worker's count of failed writes to the store (its metric).
func storageErrors(t testing.TB, e *Env) float64 {
	t.Helper()
	_, body := httpGet(t, "http://"+e.W.HTTPAddr()+"/metrics")
	var sum float64
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, "webhookd_storage_errors_total{"); ok {
			var v float64
			if _, err := fmt.Sscan(rest[strings.LastIndexByte(rest, ' ')+1:], &v); err == nil {
				sum += v
			}
		}
	}
	return sum
}

func httpGet(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
