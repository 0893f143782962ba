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
		p.reconcile(ctx, with)
		p.reconcile(ctx, without) // the definition is gone: its empty consumer is seen drained
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
