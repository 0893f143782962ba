package consumer_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/webhookd/webhookd/consumer"
	"github.com/webhookd/webhookd/event"
	"github.com/webhookd/webhookd/internal/natstest"
	"github.com/webhookd/webhookd/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestEnsureEventsStreamBindsToAnExistingOne(t *testing.T) {
	t.Parallel()
	_, js := natstest.Connect(t, natstest.URL(t))
	ctx := context.Background()
	// Upstream created it with its own limits: webhookd binds and leaves them alone.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: event.StreamName, Subjects: []string{event.StreamSubjects}, MaxMsgs: 1234}); err != nil {
		t.Fatal(err)
	}
	s, err := consumer.EnsureEventsStream(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	if info, _ := s.Info(ctx); info.Config.MaxMsgs != 1234 {
		t.Errorf("existing stream's config changed: MaxMsgs = %d", info.Config.MaxMsgs)
	}
}

func TestEnsureEventsStreamCreatesIt(t *testing.T) {
	t.Parallel()
	_, js := natstest.Connect(t, natstest.URL(t))
	ctx := context.Background()
	s, err := consumer.EnsureEventsStream(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := s.Info(ctx)
	if info.Config.Storage != jetstream.FileStorage || info.Config.Subjects[0] != "crm.events.>" || info.Config.MaxAge != 7*24*time.Hour {
		t.Errorf("created stream = %+v", info.Config)
	}
	if !strings.Contains(info.Config.Description, "CRM entity change events") {
		t.Errorf("created stream has the description %q, want one that says what it holds", info.Config.Description)
	}
	// A second replica starting at the same time binds to it.
	if _, err := consumer.EnsureEventsStream(ctx, js); err != nil {
		t.Fatal(err)
	}
}

// pool starts a Pool on a fresh delivery consumer and returns a stop function that stops
// fetching, and a cancel for the work context.
func runPool(t *testing.T, nc *nats.Conn, js jetstream.JetStream, n int, h consumer.Handler) (stopFetch func(), stopWork context.CancelFunc, done <-chan struct{}) {
	t.Helper()
	ctx := context.Background()
	s, err := consumer.EnsureDeliveriesStream(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	c, err := consumer.EnsureDeliveryConsumer(ctx, s, "d1", 30*time.Second, 1000)
	if err != nil {
		t.Fatal(err)
	}
	fetchCtx, cancelFetch := context.WithCancel(ctx)
	workCtx, cancelWork := context.WithCancel(ctx)
	ch := make(chan struct{})
	p := &consumer.Pool{Consumer: c, Concurrency: n, Handler: h, Log: quiet, Conn: nc}
	go func() {
		defer close(ch)
		if err := p.Run(fetchCtx, workCtx); err != nil {
			t.Errorf("pool: %v", err)
		}
	}()
	t.Cleanup(func() { cancelFetch(); cancelWork(); <-ch })
	return cancelFetch, cancelWork, ch
}

func publish(t *testing.T, js jetstream.JetStream, n int) {
	t.Helper()
	if _, err := consumer.EnsureDeliveriesStream(context.Background(), js); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := js.Publish(context.Background(), consumer.DeliverySubject("d1"), fmt.Appendf(nil, "%d", i)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPoolBoundsConcurrency(t *testing.T) {
	t.Parallel()
	nc, js := natstest.Connect(t, natstest.URL(t))
	publish(t, js, 20)
	var cur, peak, handled atomic.Int64
	release := make(chan struct{})
	runPool(t, nc, js, 3, func(ctx context.Context, msg jetstream.Msg) consumer.Decision {
		c := cur.Add(1)
		for p := peak.Load(); c > p && !peak.CompareAndSwap(p, c); p = peak.Load() {
		}
		<-release
		cur.Add(-1)
		handled.Add(1)
		return consumer.Decision{Action: consumer.Ack}
	})
	testutil.Eventually(t, time.Minute, "3 handlers running", func() bool { return cur.Load() == 3 })
	close(release)
	testutil.Eventually(t, time.Minute, "all 20 handled", func() bool { return handled.Load() == 20 })
	if p := peak.Load(); p != 3 {
		t.Errorf("peak concurrency = %d, want 3", p)
	}
}

func TestRetryRedeliversAfterDelayAndTermStops(t *testing.T) {
	t.Parallel()
	nc, js := natstest.Connect(t, natstest.URL(t))
	publish(t, js, 2)
	var mu sync.Mutex
	seen := map[string]int{}
	runPool(t, nc, js, 2, func(ctx context.Context, msg jetstream.Msg) consumer.Decision {
		mu.Lock()
		defer mu.Unlock()
		seen[string(msg.Data())]++
		switch {
		case string(msg.Data()) == "1":
			return consumer.Decision{Action: consumer.Term, Reason: "never"}
		case seen["0"] < 3:
			return consumer.Decision{Action: consumer.Retry, Delay: 10 * time.Millisecond}
		}
		return consumer.Decision{Action: consumer.Ack}
	})
	testutil.Eventually(t, time.Minute, "message 0 acked on its third delivery", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return seen["0"] == 3
	})
	s, _ := js.Stream(context.Background(), consumer.DeliveriesStream)
	testutil.Eventually(t, time.Minute, "the work queue to empty", func() bool {
		info, err := s.Info(context.Background())
		return err == nil && info.State.Msgs == 0
	})
	mu.Lock()
	defer mu.Unlock()
	if seen["1"] != 1 {
		t.Errorf("terminated message delivered %d times, want 1", seen["1"])
	}
}

func TestStopHandsBackWorkAtOnce(t *testing.T) {
	t.Parallel()
	nc, js := natstest.Connect(t, natstest.URL(t))
	publish(t, js, 10)
	started := make(chan struct{}, 10)
	stopFetch, stopWork, done := runPool(t, nc, js, 2, func(ctx context.Context, msg jetstream.Msg) consumer.Decision {
		started <- struct{}{}
		<-ctx.Done() // a delivery that only ends when the grace period is over
		return consumer.Decision{Action: consumer.HandBack}
	})
	<-started
	<-started
	stopFetch()
	stopWork()
	<-done

	// A second pool (another replica, or this one restarted) gets all ten without waiting for
	// the 30s ack wait: in-flight and prefetched messages were handed back.
	var got atomic.Int64
	runPool(t, nc, js, 10, func(ctx context.Context, msg jetstream.Msg) consumer.Decision {
		got.Add(1)
		return consumer.Decision{Action: consumer.Ack}
	})
	testutil.Eventually(t, time.Minute, "all ten messages on the second pool", func() bool { return got.Load() == 10 })
}

func TestDeliveryConsumerDefinitions(t *testing.T) {
	t.Parallel()
	_, js := natstest.Connect(t, natstest.URL(t))
	ctx := context.Background()
	s, err := consumer.EnsureDeliveriesStream(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b-2"} {
		if _, err := consumer.EnsureDeliveryConsumer(ctx, s, id, time.Minute, 10); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "someone-else", FilterSubject: "webhookd.deliveries.zzz"}); err != nil {
		t.Fatal(err)
	}
	ids, err := consumer.DeliveryConsumerDefinitions(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sorted(ids)) != "[a b-2]" {
		t.Errorf("ids = %v", ids)
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestEventsConsumerKeepsAnOperatorsStartingPoint(t *testing.T) {
	t.Parallel()
	_, js := natstest.Connect(t, natstest.URL(t))
	ctx := context.Background()
	s, err := consumer.EnsureEventsStream(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: consumer.EventsConsumer,
		DeliverPolicy: jetstream.DeliverNewPolicy, AckPolicy: jetstream.AckExplicitPolicy, FilterSubject: "crm.events.>"}); err != nil {
		t.Fatal(err)
	}
	c, err := consumer.EnsureEventsConsumer(ctx, s, 64)
	if err != nil {
		t.Fatalf("binding to an operator's consumer: %v", err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.DeliverPolicy != jetstream.DeliverNewPolicy || info.Config.MaxAckPending != 64 || info.Config.MaxDeliver != -1 {
		t.Errorf("consumer config = %+v", info.Config)
	}
}

// The server's default limit of 1,000 consumers a stream must not cap the definitions: each has
// its own delivery consumer, and definition 1,001 gets one too.
func TestDeliveriesStreamTakesMoreThanAThousandConsumers(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 1,001 consumers")
	}
	t.Parallel()
	_, js := natstest.Connect(t, natstest.URL(t))
	s, err := consumer.EnsureDeliveriesStream(t.Context(), js)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1001 {
		if _, err := consumer.EnsureDeliveryConsumer(t.Context(), s, fmt.Sprintf("d%d", i), time.Minute, 100); err != nil {
			t.Fatalf("delivery consumer of definition %d: %v", i+1, err)
		}
	}
}
