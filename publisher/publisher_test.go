package publisher_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookd/webhookd/event"
	"github.com/webhookd/webhookd/internal/natstest"
	"github.com/webhookd/webhookd/publisher"
)

// startJetStream runs an in-process NATS server with JetStream and the CRM_EVENTS stream.
func startJetStream(t testing.TB) (jetstream.JetStream, jetstream.Stream) {
	t.Helper()
	_, js := natstest.Connect(t, natstest.URL(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: event.StreamName, Subjects: []string{event.StreamSubjects},
		Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute})
	if err != nil {
		t.Fatalf("create stream: %v", err)
	}
	return js, s
}

func validEvent(id string) *event.Event {
	return &event.Event{ID: id, Entity: "customer", EntityID: "C-1001", Action: "updated",
		OccurredAt: "2025-01-02T03:04:05Z", Actor: "jdoe", Changed: []string{"status"},
		Data: json.RawMessage(`{"status":"active","name":"Ada"}`)}
}

func streamMsgs(t *testing.T, s jetstream.Stream) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatalf("stream info: %v", err)
	}
	return info.State.Msgs
}

func TestPublishSetsSubjectHeaderAndBody(t *testing.T) {
	js, s := startJetStream(t)
	p := publisher.New(js)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	ack, err := p.Publish(ctx, validEvent("ev-1"))
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if ack.Stream != event.StreamName || ack.Duplicate {
		t.Fatalf("ack = %+v, want stream %s, not a duplicate", ack, event.StreamName)
	}
	m, err := s.GetMsg(ctx, ack.Sequence)
	if err != nil {
		t.Fatalf("get message: %v", err)
	}
	if m.Subject != "crm.events.customer.updated" {
		t.Errorf("subject = %q", m.Subject)
	}
	if got := m.Header.Get(jetstream.MsgIDHeader); got != "ev-1" {
		t.Errorf("Nats-Msg-Id = %q, want ev-1", got)
	}
	// What the worker will do with it: the body must parse as a valid event on that subject.
	got, err := event.Parse(m.Subject, m.Data)
	if err != nil {
		t.Fatalf("worker would refuse the published body: %v", err)
	}
	if got.ID != "ev-1" || got.Actor != "jdoe" || string(got.Data) != `{"status":"active","name":"Ada"}` {
		t.Errorf("parsed = %+v", got)
	}
}

func TestInvalidEventsRefusedBeforeSending(t *testing.T) {
	js, s := startJetStream(t)
	p := publisher.New(js)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	mutate := map[string]func(*event.Event){
		"no id":            func(e *event.Event) { e.ID = "" },
		"id too long":      func(e *event.Event) { e.ID = string(make([]byte, 129)) },
		"bad entity":       func(e *event.Event) { e.Entity = "Customer" },
		"entity with dot":  func(e *event.Event) { e.Entity = "a.b" },
		"no entity id":     func(e *event.Event) { e.EntityID = "" },
		"no action":        func(e *event.Event) { e.Action = "" },
		"bad occurred_at":  func(e *event.Event) { e.OccurredAt = "yesterday" },
		"data not object":  func(e *event.Event) { e.Data = json.RawMessage(`[1]`) },
		"no data":          func(e *event.Event) { e.Data = nil },
		"data broken JSON": func(e *event.Event) { e.Data = json.RawMessage(`{"a":`) },
	}
	for name, f := range mutate {
		t.Run(name, func(t *testing.T) {
			ev := validEvent("ev-" + name)
			f(ev)
			if _, err := p.Publish(ctx, ev); !event.IsInvalid(err) {
				t.Errorf("Publish: err = %v, want an invalid-event error", err)
			}
			if _, err := p.PublishAsync(ctx, ev); !event.IsInvalid(err) {
				t.Errorf("PublishAsync: err = %v, want an invalid-event error", err)
			}
		})
	}
	if _, err := p.Publish(ctx, nil); !errors.Is(err, publisher.ErrNilEvent) {
		t.Errorf("Publish(nil): err = %v", err)
	}
	// Anything sent above would have been stored before this one, on the same connection.
	ack, err := p.Publish(ctx, validEvent("ev-valid"))
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if ack.Sequence != 1 || streamMsgs(t, s) != 1 {
		t.Fatalf("stream holds %d messages (last seq %d), want only the valid one", streamMsgs(t, s), ack.Sequence)
	}
}

func TestDuplicatePublishStoredOnce(t *testing.T) {
	js, s := startJetStream(t)
	p := publisher.New(js)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	first, err := p.Publish(ctx, validEvent("ev-dup"))
	if err != nil {
		t.Fatalf("first publish: %v", err)
	}
	second, err := p.Publish(ctx, validEvent("ev-dup"))
	if err != nil {
		t.Fatalf("second publish: %v", err)
	}
	if !second.Duplicate || second.Sequence != first.Sequence {
		t.Errorf("second ack = %+v, want a duplicate of sequence %d", second, first.Sequence)
	}
	fut, err := p.PublishAsync(ctx, validEvent("ev-dup"))
	if err != nil {
		t.Fatalf("async publish: %v", err)
	}
	select {
	case ack := <-fut.Ok():
		if !ack.Duplicate {
			t.Errorf("async ack = %+v, want a duplicate", ack)
		}
	case err := <-fut.Err():
		t.Fatalf("async publish: %v", err)
	case <-ctx.Done():
		t.Fatal("no async ack")
	}
	if n := streamMsgs(t, s); n != 1 {
		t.Fatalf("stream holds %d messages, want 1", n)
	}
}

func TestPublishAsyncComplete(t *testing.T) {
	js, s := startJetStream(t)
	p := publisher.New(js)
	const n = 200
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	futs := make([]jetstream.PubAckFuture, 0, n)
	for i := range n {
		fut, err := p.PublishAsync(ctx, validEvent(fmt.Sprintf("ev-%d", i)))
		if err != nil {
			t.Fatalf("PublishAsync %d: %v", i, err)
		}
		futs = append(futs, fut)
	}
	if err := p.WaitAsync(ctx); err != nil {
		t.Fatal(err)
	}
	if p.PublishAsyncPending() != 0 {
		t.Fatalf("pending = %d after completion", p.PublishAsyncPending())
	}
	for i, f := range futs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	if got := streamMsgs(t, s); got != n {
		t.Fatalf("stream holds %d messages, want %d", got, n)
	}
}

// TestPublishAsyncBurstIsPacedByTheServer: a burst many times the window of unacknowledged
// publishes waits for room instead of failing, and every event is stored once.
func TestPublishAsyncBurstIsPacedByTheServer(t *testing.T) {
	url := natstest.URL(t)
	nc, _ := natstest.Connect(t, url)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: event.StreamName, Subjects: []string{event.StreamSubjects}})
	if err != nil {
		t.Fatal(err)
	}
	p := publisher.New(js)
	const n = 2000
	for i := range n {
		if _, err := p.PublishAsync(ctx, validEvent(fmt.Sprintf("ev-%d", i))); err != nil {
			t.Fatalf("PublishAsync %d of %d through a window of 4: %v", i, n, err)
		}
	}
	if err := p.WaitAsync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := streamMsgs(t, s); got != n {
		t.Fatalf("stream holds %d messages, want %d", got, n)
	}
}

// TestPublishAsyncWaitsForRoomUntilItsContextEnds: with the window full and no acknowledgement
// coming, PublishAsync gives up when its context ends (saying so), not after a fixed stall.
func TestPublishAsyncWaitsForRoomUntilItsContextEnds(t *testing.T) {
	url := natstest.URL(t)
	nc, _ := natstest.Connect(t, url)
	// A responder that takes the event and never acknowledges it stands in for a stream
	// whose leader is gone: the one slot of the window stays taken.
	held := make(chan struct{})
	sub, err := nc.Subscribe(event.StreamSubjects, func(*nats.Msg) { close(held) })
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(1), jetstream.WithPublishAsyncTimeout(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	p := publisher.New(js, publisher.WithExpectStream(""))
	if _, err := p.PublishAsync(context.Background(), validEvent("ev-held")); err != nil {
		t.Fatal(err)
	}
	<-held
	ctx, cancel := context.WithTimeoutCause(context.Background(), time.Second, errors.New("test deadline"))
	defer cancel()
	_, err = p.PublishAsync(ctx, validEvent("ev-waiting"))
	if err == nil || errors.Is(err, jetstream.ErrTooManyStalledMsgs) || !strings.Contains(err.Error(), "test deadline") {
		t.Fatalf("PublishAsync with a full window: err = %v, want the context's end", err)
	}
}

func TestExpectStream(t *testing.T) {
	js, _ := startJetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := publisher.New(js, publisher.WithExpectStream("OTHER")).Publish(ctx, validEvent("ev-x")); err == nil {
		t.Fatal("publish into CRM_EVENTS while expecting OTHER succeeded")
	}
	if _, err := publisher.New(js, publisher.WithExpectStream("")).Publish(ctx, validEvent("ev-y")); err != nil {
		t.Fatalf("publish without a stream check: %v", err)
	}
}

func BenchmarkPublishAsync(b *testing.B) {
	js, _ := startJetStream(b)
	p := publisher.New(js)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := p.PublishAsync(b.Context(), validEvent(fmt.Sprintf("bench-%d", i))); err != nil {
			b.Fatal(err)
		}
	}
	<-p.PublishAsyncComplete()
}
