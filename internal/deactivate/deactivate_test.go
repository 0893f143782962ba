package deactivate_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/internal/deactivate"
	"github.com/webhookd/webhookd/internal/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type store struct{ at time.Time }

func (s *store) DisableDefinition(_ context.Context, _, _ string, at time.Time) (bool, error) {
	if !s.at.IsZero() {
		return false, nil
	}
	s.at = at
	return true, nil
}

// The notice's time is in milliseconds, like every other time webhookd shows, and is the time
// stored as disabled_at.
func TestNoticeTimeInMilliseconds(t *testing.T) {
	t.Parallel()
	nc, _ := natstest.Connect(t, natstest.URL(t, func(o *server.Options) { o.JetStream = false }))
	notices := make(chan *nats.Msg, 1)
	sub, err := nc.ChanSubscribe(controlapi.SubjectDefinitionDisabled, notices)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	st := &store{}
	at := time.Date(2025, 3, 1, 10, 0, 0, 123456789, time.UTC)
	def := &config.Definition{ID: "erp-sync", Name: "ERP"}
	changed, err := deactivate.Definition(context.Background(), deactivate.Deps{Store: st, Conn: nc, Log: slog.New(slog.DiscardHandler)},
		def, deactivate.GoneReason, at)
	if err != nil || !changed {
		t.Fatalf("Definition = %v, %v", changed, err)
	}
	select {
	case m := <-notices:
		var raw struct {
			Time string `json:"time"`
		}
		if err := json.Unmarshal(m.Data, &raw); err != nil {
			t.Fatal(err)
		}
		if raw.Time != "2025-03-01T10:00:00.123Z" {
			t.Errorf("notice time %q, want 2025-03-01T10:00:00.123Z", raw.Time)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notice")
	}
	if !st.at.Equal(at.Truncate(time.Millisecond)) {
		t.Errorf("stored %v, want the notice's time", st.at)
	}
}
