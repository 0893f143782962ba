package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookd/webhookd/broker/embedded"
	"github.com/webhookd/webhookd/internal/testutil"
)

// TestJetStreamComesBackAfterTheDiskFilledUp: the embedded server's store on a disk that fills
// up. nats-server keeps the stream's write error and refuses every later message, even once the
// disk has room again; the server says so once (StoreErr, one log line) and, once the disk takes
// writes, restarts JetStream: the stream takes messages again, and what it held, and what its
// consumer had acknowledged, are as they were.
func TestJetStreamComesBackAfterTheDiskFilledUp(t *testing.T) {
	dir := testutil.SmallDisk(t, 16<<20)
	var logs testutil.LogBuffer
	opts, err := embedded.Options(embedded.Config{DataDir: dir, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e, err := embedded.Start(ctx, opts, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown) // before the disk is unmounted
	nc, err := nats.Connect(e.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "c", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	body := func(i int) []byte { return append([]byte(fmt.Sprintf("%03d ", i)), make([]byte, 10<<10)...) }
	publish := func(i int) error {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := js.Publish(ctx, "s.x", body(i), jetstream.WithMsgID(fmt.Sprint(i)))
		return err
	}
	for i := range 3 {
		if err := publish(i); err != nil {
			t.Fatal(err)
		}
	}
	// The first two are acknowledged (synchronously, so the consumer has their acks), the third not.
	for _, want := range []string{"000", "001"} {
		m, err := c.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if got := string(m.Data()[:3]); got != want {
			t.Fatalf("message %s, want %s", got, want)
		}
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
	}

	free := testutil.FillDisk(t, dir)
	if err := publish(3); err == nil {
		t.Fatal("a message was stored on a full disk")
	}
	testutil.Eventually(t, 30*time.Second, "the store's outage", func() bool { return e.StoreErr() != nil })
	if err := e.StoreErr(); !errors.Is(err, embedded.ErrStoreWrites) || !strings.Contains(err.Error(), "no space left on device") {
		t.Errorf("StoreErr() = %v, want ErrStoreWrites saying the disk is full", err)
	}
	for i := 4; i < 8; i++ {
		if err := publish(i); err == nil {
			t.Fatalf("message %d stored on a full disk", i)
		}
	}

	free()
	testutil.Eventually(t, 30*time.Second, "the store back", func() bool { return e.StoreErr() == nil })
	for i := 3; i < 8; i++ {
		if err := publish(i); err != nil {
			t.Fatalf("message %d after the disk has room again: %v", i, err)
		}
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 8 {
		t.Errorf("the stream holds %d messages, want 8", info.State.Msgs)
	}
	// The consumer carries on where it was: with the unacknowledged third message.
	for _, want := range []string{"002", "003", "004"} {
		m, err := c.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if got := string(m.Data()[:3]); got != want {
			t.Fatalf("message %s after the restart, want %s", got, want)
		}
		_ = m.Ack()
	}

	out := logs.String()
	for _, line := range []string{"JetStream store writes failing", "JetStream store writes succeed again"} {
		if n := strings.Count(out, line); n != 1 {
			t.Errorf("%q logged %d times, want once:\n%s", line, n, out)
		}
	}
	if n := strings.Count(out, "level=ERROR") + strings.Count(out, "level=WARN"); n != 1 {
		t.Errorf("%d warnings and errors, want the outage's one line:\n%s", n, out)
	}
}
