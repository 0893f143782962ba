package controlapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/internal/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// respond answers every message on a command's subject with the bodies given, in order.
func respond(t *testing.T, nc *nats.Conn, command string, bodies ...string) {
	t.Helper()
	sub, err := nc.Subscribe(controlapi.Subject(command), func(m *nats.Msg) {
		for _, b := range bodies {
			_ = nc.Publish(m.Reply, []byte(b))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestClient(t *testing.T) {
	t.Parallel()
	nc, _ := natstest.Connect(t, natstest.URL(t, func(o *server.Options) { o.JetStream = false }))
	c := controlapi.NewClient(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	t.Run("result after progress", func(t *testing.T) {
		respond(t, nc, controlapi.CmdRequestsDelete,
			`{"progress":{"done":1,"total":2}}`, `{"progress":{"done":2,"total":2}}`,
			`{"ok":true,"result":{"deleted":2,"not_found":[]}}`)
		var seen []controlapi.Progress
		var res controlapi.DeleteResult
		err := c.Do(ctx, controlapi.CmdRequestsDelete, controlapi.BulkRequest{Numbers: []string{"WR-0000000001"}, User: "ann"},
			&res, func(p controlapi.Progress) { seen = append(seen, p) })
		if err != nil || res.Deleted != 2 {
			t.Fatalf("Do = %+v, %v", res, err)
		}
		if len(seen) != 2 || seen[1] != (controlapi.Progress{Done: 2, Total: 2}) {
			t.Errorf("progress = %+v", seen)
		}
	})
	t.Run("error reply", func(t *testing.T) {
		respond(t, nc, controlapi.CmdRequestsGet, `{"ok":false,"error":{"code":"NOT_FOUND","message":"webhook request WR-0000000009 does not exist"}}`)
		_, err := c.Call(ctx, controlapi.CmdRequestsGet, json.RawMessage(`{"number":"WR-0000000009"}`), nil)
		var e *controlapi.Error
		if !errors.As(err, &e) || e.Code != controlapi.CodeNotFound {
			t.Fatalf("Call = %v, want a NOT_FOUND *Error", err)
		}
	})
	t.Run("no responders", func(t *testing.T) {
		_, err := c.Call(ctx, controlapi.CmdRulesList, struct{}{}, nil)
		if !errors.Is(err, controlapi.ErrNoResponders) {
			t.Fatalf("Call = %v, want ErrNoResponders", err)
		}
	})
}
