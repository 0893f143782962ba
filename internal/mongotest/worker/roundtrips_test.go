package worker_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/event"

	"github.com/webhookd/webhookd/internal/mongotest/ferrettest"
	"github.com/webhookd/webhookd/internal/natstest"
	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/internal/workertest"
	"github.com/webhookd/webhookd/metrics"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/storage/mongo"
)

// TestRoundTripsPerDelivery measures what each delivery costs the MongoDB store under a burst:
// the commands the worker sends (round trips), by name and collection, the documents of each
// insert and the bytes on the wire, through a wire tap between the worker and the server.
// Targets (issue 11): one insert per batch of at least 50 deliveries under load, one counter
// round trip per block of numbers. Each delivery's document must be sent once.
func TestRoundTripsPerDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("bursts of 1,000 deliveries: not under -short")
	}
	for _, sc := range []struct {
		name        string
		definitions int
		events      int
	}{
		// The product's defaults: one definition, max_in_flight 32.
		{name: "one_definition", definitions: 1, events: 1000},
		// Several definitions at their defaults, as a deployment has them.
		{name: "four_definitions", definitions: 4, events: 250},
	} {
		t.Run(sc.name, func(t *testing.T) {
			measureRoundTrips(t, sc.definitions, sc.events)
		})
	}
}

func measureRoundTrips(t *testing.T, definitions, n int) {
	const bodyPad = 450 // event data of about 600 bytes, as the benchmark's
	uri := ferrettest.MongoURI(t)
	db := ferrettest.Database(t, uri)
	tap := newWiretap(t, uri) // stops after the worker (cleanups run last-in first-out)
	natsURL := natstest.URL(t)
	_, js := natstest.Connect(t, natsURL)
	rc := workertest.NewReceiver(t, nil)
	defs := make([]string, definitions)
	ids := make([]string, definitions)
	for i := range defs {
		ids[i] = fmt.Sprintf("d%d", i+1)
		defs[i] = workertest.DefinitionYAML(ids[i], rc.URL, "")
	}
	c := newCluster(t, natsURL, uri, db, workertest.ConfigOf(defs, []string{workertest.RuleYAML("r1", "customer", ids...)}))
	store := c.openStore(t) // the test reads on a client of its own, not through the tap
	r := c.start(t, "r1", tap.URI)

	burst := events("ev", "customer", n)
	pad := strings.Repeat("x", bodyPad)
	for i := range burst {
		burst[i].Data["notes"] = pad
	}
	deliveries := n * definitions
	before := tap.Snapshot()
	insertsBefore := len(tap.docsPerCall(command{"insert", mongo.CollRequests}, 0))
	batchesBefore, docsBefore := r.histogram(t, "webhookd_storage_batch_size", "collection", metrics.CollectionRequests)
	start := time.Now()
	publishBurst(t, js, burst)
	waitCount(t, store, storage.Filter{Entity: "customer"}, int64(deliveries), 5*time.Minute)
	elapsed := time.Since(start)
	got := tap.since(before)
	sizes := tap.docsPerCall(command{"insert", mongo.CollRequests}, insertsBefore)
	batches, docs := r.histogram(t, "webhookd_storage_batch_size", "collection", metrics.CollectionRequests)
	batches -= batchesBefore
	docs -= docsBefore

	// The table: every command of the window, per delivery.
	var b strings.Builder
	fmt.Fprintf(&b, "%d events x %d definitions = %d deliveries in %v (%.0f/s), %d-byte event data\n",
		n, definitions, deliveries, elapsed.Round(time.Millisecond), float64(deliveries)/elapsed.Seconds(), bodyPad+150)
	fmt.Fprintf(&b, "  %-34s %7s %8s %7s %11s %11s %9s\n", "command", "calls", "per dlv", "docs", "request B", "reply B", "B/dlv")
	var total commandStats
	for _, cmd := range sortedCommands(got) {
		s := got[cmd]
		total = total.add(s)
		fmt.Fprintf(&b, "  %-34s %7d %8.4f %7d %11d %11d %9.1f\n", cmd, s.Calls, float64(s.Calls)/float64(deliveries), s.Docs,
			s.RequestBytes, s.ReplyBytes, float64(s.RequestBytes+s.ReplyBytes)/float64(deliveries))
	}
	fmt.Fprintf(&b, "  %-34s %7d %8.4f %7s %11d %11d %9.1f\n", "total", total.Calls, float64(total.Calls)/float64(deliveries), "",
		total.RequestBytes, total.ReplyBytes, float64(total.RequestBytes+total.ReplyBytes)/float64(deliveries))
	ins := got[command{"insert", mongo.CollRequests}]
	counter := got[command{"findAndModify", mongo.CollCounters}]
	avg := 0.0
	if ins.Calls > 0 {
		avg = float64(ins.Docs) / float64(ins.Calls)
	}
	fmt.Fprintf(&b, "  inserts into %s: %d carrying %d documents, %.1f per insert (worker's batch metric: %d batches, %.1f per batch); "+
		"counter findAndModify: %d for %d numbers (blocks of %d)",
		mongo.CollRequests, ins.Calls, ins.Docs, avg, batches, docs/float64(max(batches, 1)), counter.Calls, deliveries, storage.DefaultNumberBlock)
	slices.Sort(sizes)
	if len(sizes) > 0 {
		fmt.Fprintf(&b, "\n  documents per insert: min %d, p25 %d, median %d, p75 %d, max %d",
			sizes[0], sizes[len(sizes)/4], sizes[len(sizes)/2], sizes[len(sizes)*3/4], sizes[len(sizes)-1])
	}
	driven := ins.add(counter)
	fmt.Fprintf(&b, "\n  per delivery, its own commands (the insert and the counter): %.4f round trips, %.0f bytes; "+
		"the others are periodic (config poll, health flush, pings, server monitoring) and follow the time, not the deliveries",
		float64(driven.Calls)/float64(deliveries), float64(driven.RequestBytes+driven.ReplyBytes)/float64(deliveries))
	t.Log(b.String())

	// Each delivery's document is sent once: nothing written twice, nothing rewritten.
	if ins.Docs != int64(deliveries) {
		t.Errorf("inserts into %s carried %d documents for %d deliveries", mongo.CollRequests, ins.Docs, deliveries)
	}
	// One counter round trip per block of numbers, and one for a block begun before the burst.
	if blocks := int64((deliveries+storage.DefaultNumberBlock-1)/storage.DefaultNumberBlock) + 1; counter.Calls > blocks {
		t.Errorf("%d counter round trips for %d numbers, want at most %d", counter.Calls, deliveries, blocks)
	}
	if avg < 50 {
		t.Errorf("inserts into %s carry %.1f documents on average under the burst, want at least 50", mongo.CollRequests, avg)
	}
}

// TestRoundTripTapAgreesWithTheCommandMonitor checks the wire tap against the driver's command
// monitor on a store that has both: the same commands, as many times, carrying as many
// documents.
func TestRoundTripTapAgreesWithTheCommandMonitor(t *testing.T) {
	uri := ferrettest.MongoURI(t)
	db := ferrettest.Database(t, uri)
	tap := newWiretap(t, uri)
	mon := &monitorCounts{counts: map[command]commandStats{}}
	ctx := context.Background()
	s, err := mongo.Open(ctx, tap.URI, db, testutil.Keyring(t), mongo.WithCommandMonitor(mon.monitor()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })

	tapBefore, monBefore := tap.Snapshot(), mon.snapshot()
	const n = 60
	first, err := s.ReserveNumbers(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	reqs := make([]*storage.WebhookRequest, n)
	for i := range reqs {
		reqs[i] = &storage.WebhookRequest{Number: storage.FormatNumber(first + int64(i)), WebhookID: fmt.Sprintf("msg_tap_%d", i),
			State: storage.StateSuccessful, Entity: "customer", EntityID: "C-1", EventID: fmt.Sprintf("ev-%d", i)}
	}
	if stored, err := s.InsertRequests(ctx, reqs); err != nil || stored != n {
		t.Fatalf("InsertRequests = %d, %v", stored, err)
	}
	if c, err := s.CountRequests(ctx, storage.Filter{}); err != nil || c != n {
		t.Fatalf("CountRequests = %d, %v", c, err)
	}
	tapGot := tap.since(tapBefore)
	monGot := mon.since(monBefore)

	for _, cmd := range []command{{"findAndModify", mongo.CollCounters}, {"insert", mongo.CollRequests}, {"aggregate", mongo.CollRequests}} {
		if monGot[cmd].Calls != 1 {
			t.Errorf("command monitor: %d × %s, want 1", monGot[cmd].Calls, cmd)
		}
	}
	if d := monGot[command{"insert", mongo.CollRequests}].Docs; d != n {
		t.Errorf("command monitor: the insert carried %d documents, want %d", d, n)
	}
	for cmd, m := range monGot {
		tp := tapGot[cmd]
		if tp.Calls != m.Calls || tp.Replies != m.Replies || tp.Docs != m.Docs {
			t.Errorf("%s: tap counted %+v, command monitor %+v", cmd, tp, m)
		}
		// The monitor's command is the wire message's sections as one document, its document
		// sequence an array: a few bytes apart per message and per document.
		slack := 64*m.Calls + 8*m.Docs
		if d := tp.RequestBytes - m.RequestBytes; d < -slack || d > slack {
			t.Errorf("%s: tap counted %d request bytes, command monitor %d", cmd, tp.RequestBytes, m.RequestBytes)
		}
		if d := tp.ReplyBytes - m.ReplyBytes; d < -slack || d > slack {
			t.Errorf("%s: tap counted %d reply bytes, command monitor %d", cmd, tp.ReplyBytes, m.ReplyBytes)
		}
	}
	for cmd, tp := range tapGot {
		if _, ok := monGot[cmd]; !ok && !isMonitoring(cmd.Name) {
			t.Errorf("the tap saw %d × %s, the command monitor none", tp.Calls, cmd)
		}
	}
}

// isMonitoring reports the commands of the driver's server monitoring, which the command
// monitor does not report.
func isMonitoring(name string) bool {
	switch name {
	case "hello", "isMaster", "ismaster":
		return true
	}
	return false
}

// monitorCounts counts what an event.CommandMonitor reports, as the wire tap does.
type monitorCounts struct {
	mu      sync.Mutex
	counts  map[command]commandStats
	started map[int64]command
}

func (m *monitorCounts) monitor() *event.CommandMonitor {
	m.started = map[int64]command{}
	return &event.CommandMonitor{
		Started: func(_ context.Context, e *event.CommandStartedEvent) {
			c := command{Name: e.CommandName}
			if v, err := e.Command.LookupErr(e.CommandName); err == nil {
				c.Collection, _ = v.StringValueOK()
			}
			var docs int64
			for _, key := range []string{"documents", "updates", "deletes"} {
				if arr, ok := e.Command.Lookup(key).ArrayOK(); ok {
					vals, _ := arr.Values()
					docs += int64(len(vals))
				}
			}
			m.mu.Lock()
			defer m.mu.Unlock()
			m.started[e.RequestID] = c
			m.counts[c] = m.counts[c].add(commandStats{Calls: 1, Docs: docs, RequestBytes: int64(len(e.Command))})
		},
		Succeeded: func(_ context.Context, e *event.CommandSucceededEvent) {
			m.finished(e.RequestID, int64(len(e.Reply)))
		},
		Failed: func(_ context.Context, e *event.CommandFailedEvent) {
			m.finished(e.RequestID, 0)
		},
	}
}

func (m *monitorCounts) finished(id int64, replyBytes int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.started[id]
	delete(m.started, id)
	m.counts[c] = m.counts[c].add(commandStats{Replies: 1, ReplyBytes: replyBytes})
}

func (m *monitorCounts) snapshot() map[command]commandStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[command]commandStats, len(m.counts))
	for c, s := range m.counts {
		out[c] = s
	}
	return out
}

func (m *monitorCounts) since(before map[command]commandStats) map[command]commandStats {
	out := m.snapshot()
	for c, s := range before {
		out[c] = out[c].sub(s)
		if out[c] == (commandStats{}) {
			delete(out, c)
		}
	}
	return out
}
