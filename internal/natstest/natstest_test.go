package natstest_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/webhookd/webhookd/internal/natstest"
)

// goleak after every test: a server that outlives its test's cleanup fails here.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestServerHasJetStreamOnDisk(t *testing.T) {
	url := natstest.URL(t)
	_, js := natstest.Connect(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := js.AccountInfo(ctx)
	if err != nil {
		t.Fatalf("JetStream account info: %v", err)
	}
	if info.Store != 0 {
		t.Errorf("a fresh server stores %d bytes", info.Store)
	}
}

func TestServerOptionsHook(t *testing.T) {
	srv := natstest.Server(t, func(o *server.Options) { o.Username, o.Password = "worker", "s3cret" })
	if _, err := nats.Connect(srv.ClientURL()); err == nil {
		t.Fatal("connected without the password the hook set")
	}
	nc, err := nats.Connect(srv.ClientURL(), nats.UserInfo("worker", "s3cret"))
	if err != nil {
		t.Fatalf("connect with the hook's credentials: %v", err)
	}
	nc.Close()
}

func TestServerStopsAtCleanup(t *testing.T) {
	var srv *server.Server
	t.Run("inner", func(t *testing.T) { srv = natstest.Server(t) })
	if srv.Running() {
		t.Error("the server still runs after its test ended")
	}
}
