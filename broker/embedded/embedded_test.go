package embedded_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/webhookd/webhookd/broker"
	"github.com/webhookd/webhookd/broker/embedded"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestServerKeepsJetStreamOnDisk(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	e, err := embedded.Start(ctx, dir, "127.0.0.1:0", quiet)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := broker.Connect(ctx, broker.Options{URL: e.ClientURL(), Name: "test"}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.AccountInfo(); err != nil {
		t.Errorf("JetStream not enabled: %v", err)
	}
	nc.Close()
	e.Shutdown()
}

func TestServerRefusesABusyPort(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, err := embedded.Start(ctx, t.TempDir(), "127.0.0.1:0", quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	addr := strings.TrimPrefix(e.ClientURL(), "nats://")
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if e2, err := embedded.Start(ctx, t.TempDir(), addr, quiet); err == nil {
		e2.Shutdown()
		t.Fatal("a second embedded server started on a busy port")
	}
}
