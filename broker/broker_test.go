package broker_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.uber.org/goleak"

	"github.com/webhookd/webhookd/broker"
	"github.com/webhookd/webhookd/internal/natstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestConnectWithUserAndPassword(t *testing.T) {
	url := natstest.URL(t, func(o *server.Options) { o.Username, o.Password = "worker", "s3cret" })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	nc, err := broker.Connect(ctx, broker.Options{URL: url, User: "worker", Password: "s3cret"}, quiet)
	if err != nil {
		t.Fatalf("connect with the right password: %v", err)
	}
	nc.Close()

	_, err = broker.Connect(ctx, broker.Options{URL: url, User: "worker", Password: "wrong"}, quiet)
	if err == nil {
		t.Fatal("connected with a wrong password")
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error leaks the password: %v", err)
	}
}

func TestConnectValidatesOptions(t *testing.T) {
	ctx := context.Background()
	for name, o := range map[string]broker.Options{
		"no url":         {},
		"cert, no key":   {URL: "nats://127.0.0.1:1", TLSCert: "c.pem"},
		"missing nkey":   {URL: "nats://127.0.0.1:1", NKey: "/nonexistent/seed.nk"},
		"refused server": {URL: "nats://127.0.0.1:1"},
	} {
		t.Run(name, func(t *testing.T) {
			if nc, err := broker.Connect(ctx, o, quiet); err == nil {
				nc.Close()
				t.Fatal("connected")
			}
		})
	}
}

func TestConnectErrorRedactsCredentials(t *testing.T) {
	_, err := broker.Connect(context.Background(), broker.Options{URL: "nats://user:hunter2@127.0.0.1:1"}, quiet)
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error = %v, want one without the password", err)
	}
}

func TestConnectErrorRedactsEveryURLOfAList(t *testing.T) {
	_, err := broker.Connect(context.Background(), broker.Options{URL: "nats://127.0.0.1:1,nats://u:hunter3@127.0.0.1:2"}, quiet)
	if err == nil || strings.Contains(err.Error(), "hunter3") {
		t.Errorf("error = %v, want one without the second URL's password", err)
	}
}

func TestCheckInboxPrefix(t *testing.T) {
	for prefix, ok := range map[string]bool{
		"_INBOX": true, "_INBOX_webhookd": true, "svc.replies": true,
		"": false, "_INBOX.*": false, "a.>": false, "ends.": false, ".starts": false, "two..dots": false, "has space": false,
	} {
		if err := broker.CheckInboxPrefix(prefix); (err == nil) != ok {
			t.Errorf("CheckInboxPrefix(%q) = %v, want ok %v", prefix, err, ok)
		}
	}
}

func TestConnectWithTokenAndInboxPrefix(t *testing.T) {
	t.Parallel()
	url := natstest.URL(t, func(o *server.Options) { o.JetStream, o.Authorization = false, "t0ken" })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, err := broker.Connect(ctx, broker.Options{URL: url, Token: "t0ken", InboxPrefix: "_INBOX_op"}, quiet)
	if err != nil {
		t.Fatalf("connect with the token: %v", err)
	}
	defer nc.Close()
	if in := nc.NewInbox(); !strings.HasPrefix(in, "_INBOX_op.") {
		t.Errorf("inbox %q, want one under _INBOX_op", in)
	}
	if nc, err := broker.Connect(ctx, broker.Options{URL: url}, quiet); err == nil {
		nc.Close()
		t.Fatal("connected without the token")
	}
}
