package pipeline

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/consumer"
	"github.com/webhookd/webhookd/internal/natstest"
	"github.com/webhookd/webhookd/internal/testutil"
)

// Deleting a definition ends its delivery consumer once drained, on whichever replica sees it
// first: no replica calls that a warning, nor promises to start it again.
func TestDrainedConsumerOfADeletedDefinitionGoesQuietly(t *testing.T) {
	t.Parallel()
	nc, js := natstest.Connect(t, natstest.URL(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := consumer.EnsureDeliveriesStream(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	replica := func() (*Pools, *testutil.LogBuffer) {
		var logs testutil.LogBuffer
		p := &Pools{stream: stream, nc: nc, log: slog.New(slog.NewTextHandler(&logs, nil)), workCtx: ctx,
			running: map[string]*runningPool{},
			handler: func(context.Context, jetstream.Msg) consumer.Decision { return consumer.Decision{Action: consumer.Ack} }}
		t.Cleanup(p.stop)
		return p, &logs
	}
	a, logsA := replica()
	b, logsB := replica()
	def := config.Defaults()
	def.ID = "gone"
	with := &Snapshot{Definitions: map[string]*config.Definition{"gone": &def}}
	without := &Snapshot{Definitions: map[string]*config.Definition{}}
	for _, p := range []*Pools{a, b} {
		p.ensure(ctx, "gone", with) // a delivery was queued: its consumer runs
		p.reconcile(ctx, without)   // the definition is gone: its empty consumer is seen drained
	}
	running := func(p *Pools) bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.running["gone"] != nil
	}
	if !running(a) || !running(b) {
		t.Fatal("the consumer of the deleted definition is not kept until drained")
	}

	// Replica a sees it drained long enough and deletes it; b's pool finds it deleted.
	a.drainedMu.Lock()
	a.drainedAt["gone"] = time.Now().Add(-drainGrace - time.Second)
	a.drainedMu.Unlock()
	a.reconcile(ctx, without)
	if _, err := stream.Consumer(ctx, consumer.DeliveryConsumerName("gone")); err == nil {
		t.Fatal("the drained consumer was not deleted")
	}
	testutil.Eventually(t, 30*time.Second, "b's pool ends", func() bool { return !running(b) })
	for name, logs := range map[string]*testutil.LogBuffer{"deleting replica": logsA, "other replica": logsB} {
		if s := logs.String(); strings.Contains(s, "level=WARN") || strings.Contains(s, "started again") {
			t.Errorf("%s logged:\n%s", name, s)
		}
	}
}

// A definition's consumer runs only while it has deliveries queued: a delivery queued makes it
// run at once, and once it has stayed empty for drainGrace it is deleted, so that thousands of
// healthy definitions (whose first attempts the fan-out makes) cost the server nothing.
func TestConsumersRunOnlyWhileDeliveriesAreQueued(t *testing.T) {
	t.Parallel()
	nc, js := natstest.Connect(t, natstest.URL(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := consumer.EnsureDeliveriesStream(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	handled := make(chan string, 10)
	p := &Pools{stream: stream, nc: nc, log: slog.New(slog.DiscardHandler), workCtx: ctx,
		running: map[string]*runningPool{}, wake: make(chan string, 10),
		handler: func(_ context.Context, m jetstream.Msg) consumer.Decision {
			handled <- string(m.Data())
			return consumer.Decision{Action: consumer.Ack}
		}}
	defer p.stop()
	go p.run(ctx, time.Hour, func() *Snapshot { return snap("idle", "busy") })
	hasConsumer := func(id string) bool {
		_, err := stream.Consumer(ctx, consumer.DeliveryConsumerName(id))
		return err == nil
	}

	p.reconcile(ctx, snap("idle", "busy"))
	if hasConsumer("idle") || hasConsumer("busy") {
		t.Fatal("a definition with nothing queued got a consumer")
	}
	if _, err := js.Publish(ctx, consumer.DeliverySubject("busy"), []byte("task")); err != nil {
		t.Fatal(err)
	}
	p.queued("busy")
	select {
	case got := <-handled:
		if got != "task" {
			t.Fatalf("handled %q", got)
		}
	case <-ctx.Done():
		t.Fatal("a queued delivery was not handled: its consumer did not run")
	}
	if hasConsumer("idle") {
		t.Fatal("the idle definition got a consumer")
	}

	// Drained: kept for drainGrace (a replica on an older snapshot may still queue to it), then deleted.
	testutil.Eventually(t, 10*time.Second, "the task acknowledged", func() bool {
		c, err := stream.Consumer(ctx, consumer.DeliveryConsumerName("busy"))
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.NumPending == 0 && info.NumAckPending == 0
	})
	p.reconcile(ctx, snap("idle", "busy"))
	if !hasConsumer("busy") {
		t.Fatal("a consumer just drained was deleted at once")
	}
	p.drainedMu.Lock()
	p.drainedAt["busy"] = time.Now().Add(-drainGrace - time.Second)
	p.drainedMu.Unlock()
	p.reconcile(ctx, snap("idle", "busy"))
	if hasConsumer("busy") {
		t.Fatal("the consumer of a definition with nothing queued for drainGrace was kept")
	}
}

func snap(ids ...string) *Snapshot {
	s := &Snapshot{Definitions: map[string]*config.Definition{}}
	for _, id := range ids {
		def := config.Defaults()
		def.ID = id
		s.Definitions[id] = &def
	}
	return s
}
