package pipeline

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/webhookd/webhookd/consumer"
	"github.com/webhookd/webhookd/metrics"
	"github.com/webhookd/webhookd/storage"
)

// flakyStore fails the first inserts, like a store that is briefly unreachable.
type flakyStore struct {
	Store
	mu       sync.Mutex
	failures int
	calls    int
	next     int64
}

func (s *flakyStore) ReserveNumbers(_ context.Context, n int) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	first := s.next + 1
	s.next += int64(n)
	return first, nil
}

func (s *flakyStore) InsertRequests(_ context.Context, reqs []*storage.WebhookRequest) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.calls <= s.failures {
		return 0, errors.New("server selection timeout")
	}
	return len(reqs), nil
}

// A failing store is retried while the message is held, not by handing the message back (which
// would repeat an attempt the receiver already answered).
func TestRecordRetriesTheStoreNotTheAttempt(t *testing.T) {
	t.Parallel()
	store := &flakyStore{failures: 2}
	m := metrics.New(prometheus.NewRegistry(), "test")
	rec := NewRecorder(store, m, NewStoreHealth(slog.New(slog.DiscardHandler), time.Now))
	_ = rec.Start(context.Background())
	defer rec.Stop(context.Background())
	d := &Deliverer{recorder: rec, metrics: m, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	dec := d.record(context.Background(), &storage.WebhookRequest{WebhookID: "msg_1", State: storage.StateSuccessful})
	if dec.Action != consumer.Ack {
		t.Errorf("decision = %v, want ack once stored", dec.Action)
	}
	if store.calls != 3 {
		t.Errorf("store called %d times, want 3 (two failures, then stored)", store.calls)
	}
}

func TestRecordHandsBackOnShutdown(t *testing.T) {
	t.Parallel()
	store := &flakyStore{failures: 1 << 30}
	m := metrics.New(prometheus.NewRegistry(), "test")
	rec := NewRecorder(store, m, NewStoreHealth(slog.New(slog.DiscardHandler), time.Now))
	_ = rec.Start(context.Background())
	defer rec.Stop(context.Background())
	d := &Deliverer{recorder: rec, metrics: m, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if dec := d.record(ctx, &storage.WebhookRequest{WebhookID: "msg_2"}); dec.Action != consumer.HandBack {
		t.Errorf("decision = %v, want hand back when the worker stops", dec.Action)
	}
}
