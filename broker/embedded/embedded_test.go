package embedded_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/webhookd/webhookd/broker"
	"github.com/webhookd/webhookd/broker/embedded"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func start(t *testing.T, ctx context.Context, cfg embedded.Config) (*embedded.Server, error) {
	t.Helper()
	opts, err := embedded.Options(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return embedded.Start(ctx, opts, quiet)
}

func TestServerKeepsJetStreamOnDisk(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	e, err := start(t, ctx, embedded.Config{DataDir: dir, Listen: "127.0.0.1:0"})
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
	e, err := start(t, ctx, embedded.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	addr := strings.TrimPrefix(e.ClientURL(), "nats://")
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if e2, err := start(t, ctx, embedded.Config{DataDir: t.TempDir(), Listen: addr}); err == nil {
		e2.Shutdown()
		t.Fatal("a second embedded server started on a busy port")
	}
}

// TestServerOpenToTheNetworkNeedsAuthentication: on loopback the server may be open, as for
// the two-minute trial; anywhere else only a configuration with users makes it start, and then
// a client without credentials is refused.
func TestServerOpenToTheNetworkNeedsAuthentication(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, listen := range []string{"0.0.0.0:4222", ":4222", "[::]:4222", "192.0.2.10:4222"} {
		_, err := embedded.Options(embedded.Config{DataDir: dir, Listen: listen})
		if !errors.Is(err, embedded.ErrOpenToTheNetwork) || !strings.Contains(err.Error(), "--embedded-nats-config") {
			t.Errorf("Options(%s) without a configuration: err = %v, want ErrOpenToTheNetwork saying what to do", listen, err)
		}
	}
	for _, listen := range []string{"127.0.0.1:4222", "[::1]:4222", "localhost:4222", "127.0.0.2:0"} {
		if _, err := embedded.Options(embedded.Config{DataDir: dir, Listen: listen}); err != nil {
			t.Errorf("Options(%s) on loopback: %v", listen, err)
		}
	}
	noUsers := filepath.Join(dir, "no-users.conf")
	if err := os.WriteFile(noUsers, []byte("max_payload: 1MB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := embedded.Options(embedded.Config{DataDir: dir, Listen: "0.0.0.0:4222", ConfigFile: noUsers}); !errors.Is(err, embedded.ErrOpenToTheNetwork) {
		t.Errorf("a configuration without users: err = %v, want ErrOpenToTheNetwork", err)
	}

	withUsers := filepath.Join(dir, "users.conf")
	if err := os.WriteFile(withUsers, []byte(`authorization { users = [ {user: webhookd, password: s3cret} ] }`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// All interfaces, on a free port: what a container publishes.
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ctx := context.Background()
	e, err := start(t, ctx, embedded.Config{DataDir: t.TempDir(), Listen: net.JoinHostPort("0.0.0.0", strconv.Itoa(port)), ConfigFile: withUsers})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown()
	url := "nats://127.0.0.1:" + strconv.Itoa(port)
	if nc, err := broker.Connect(ctx, broker.Options{URL: url, Name: "anonymous"}, quiet); err == nil {
		nc.Close()
		t.Fatal("a client without credentials connected")
	}
	nc, err := broker.Connect(ctx, broker.Options{URL: url, User: "webhookd", Password: "s3cret", Name: "test"}, quiet)
	if err != nil {
		t.Fatalf("the configured user: %v", err)
	}
	nc.Close()
}
