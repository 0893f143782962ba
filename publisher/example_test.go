package publisher_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookd/webhookd/event"
	"github.com/webhookd/webhookd/publisher"
)

func ExamplePublisher_Publish() {
	// An in-process NATS server stands in for the real one; webhookd creates CRM_EVENTS itself,
	// this example creates it for the same effect.
	dir, _ := os.MkdirTemp("", "publisher-example")
	defer os.RemoveAll(dir)
	srv, _ := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true})
	go srv.Start()
	srv.ReadyForConnections(10 * time.Second)
	defer srv.WaitForShutdown()
	defer srv.Shutdown()

	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = js.CreateStream(ctx, jetstream.StreamConfig{Name: event.StreamName, Subjects: []string{event.StreamSubjects}, Duplicates: 2 * time.Minute})

	p := publisher.New(js)
	ev := &event.Event{
		ID:         "evt-0001",
		Entity:     "customer",
		EntityID:   "C-1001",
		Action:     "updated",
		OccurredAt: "2025-03-01T10:00:00Z",
		Actor:      "jdoe",
		Changed:    []string{"status"},
		Data:       json.RawMessage(`{"name":"Ada Lovelace","status":"active"}`),
	}
	ack, err := p.Publish(ctx, ev)
	if err != nil {
		fmt.Println("publish:", err)
		return
	}
	fmt.Println("stored in", ack.Stream, "at sequence", ack.Sequence)

	// Not sure it went through? Publish again: the same id is stored once.
	ack, _ = p.Publish(ctx, ev)
	fmt.Println("again: duplicate =", ack.Duplicate)

	// An invalid envelope never leaves the process.
	ev.OccurredAt = "yesterday"
	_, err = p.Publish(ctx, ev)
	fmt.Println("invalid:", event.IsInvalid(err))
	// Output:
	// stored in CRM_EVENTS at sequence 1
	// again: duplicate = true
	// invalid: true
}

func ExamplePublisher_PublishAsync() {
	dir, _ := os.MkdirTemp("", "publisher-example")
	defer os.RemoveAll(dir)
	srv, _ := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true})
	go srv.Start()
	srv.ReadyForConnections(10 * time.Second)
	defer srv.WaitForShutdown()
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer nc.Close()
	js, _ := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(256))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = js.CreateStream(ctx, jetstream.StreamConfig{Name: event.StreamName, Subjects: []string{event.StreamSubjects}})

	p := publisher.New(js)
	var futures []jetstream.PubAckFuture
	for i := range 3 {
		f, err := p.PublishAsync(ctx, &event.Event{
			ID: fmt.Sprintf("evt-%d", i), Entity: "order", EntityID: fmt.Sprintf("O-%d", i), Action: "created",
			OccurredAt: time.Date(2025, 3, 1, 10, 0, i, 0, time.UTC).Format(time.RFC3339),
			Data:       json.RawMessage(`{"total":42}`),
		})
		if err != nil {
			fmt.Println("publish:", err)
			return
		}
		futures = append(futures, f)
	}
	if err := p.WaitAsync(ctx); err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range futures {
		select {
		case ack := <-f.Ok():
			fmt.Println(f.Msg().Header.Get("Nats-Msg-Id"), "stored at", ack.Sequence)
		case err := <-f.Err():
			fmt.Println("failed:", err)
		}
	}
	// Output:
	// evt-0 stored at 1
	// evt-1 stored at 2
	// evt-2 stored at 3
}
