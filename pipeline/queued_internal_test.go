package pipeline

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookd/webhookd/internal/natstest"
)

// TestSubjectFullIsRecognised: the server's refusal of a publish past a subject's cap (the
// deliveries stream's hard stop per definition) is told apart from other publish errors.
func TestSubjectFullIsRecognised(t *testing.T) {
	_, js := natstest.Connect(t, natstest.URL(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "CAPPED", Subjects: []string{"capped.*"},
		Retention: jetstream.WorkQueuePolicy, MaxMsgsPerSubject: 2, Discard: jetstream.DiscardNew, DiscardNewPerSubject: true}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := js.Publish(ctx, "capped.d1", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := js.Publish(ctx, "capped.d2", []byte("x")); err != nil {
		t.Fatalf("another subject is refused too: %v", err)
	}
	_, err := js.Publish(ctx, "capped.d1", []byte("x"))
	if !isSubjectFull(err) {
		t.Fatalf("publish past the cap: err = %v, not recognised as a full subject", err)
	}
	if isSubjectFull(context.DeadlineExceeded) {
		t.Error("a timeout is taken for a full subject")
	}
}
