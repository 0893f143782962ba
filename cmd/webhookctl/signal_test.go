package main

import (
	"bufio"
	"bytes"
	"context"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/internal/natstest"
)

// A command interrupted while it waits for webhookd exits 128 + the signal's number, as
// webhookd does after a second signal, and says it was interrupted (not "timed out").
func TestInterruptedWhileWaiting(t *testing.T) {
	t.Parallel()
	url := natstest.URL(t, func(o *server.Options) { o.JetStream = false })
	nc, _ := natstest.Connect(t, url)
	asked := make(chan struct{}, 1)
	sub, err := nc.Subscribe(controlapi.SubjectPrefix+">", func(*nats.Msg) { asked <- struct{}{} }) // never answers
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, binary, "--nats-url", url, "--timeout", "30s", "rules", "list")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-asked:
		case <-ctx.Done():
			t.Fatal("webhookctl sent no request")
		}
		_ = cmd.Process.Signal(sig)
		err := cmd.Wait()
		cancel()
		if got := exitOf(err); got != 128+int(sig) || !strings.Contains(stderr.String(), "interrupted by") {
			t.Errorf("%v: exit %d, want %d; stderr: %s", sig, got, 128+int(sig), stderr.String())
		}
	}
}

// listen is ended by a signal: that is its way to stop, exit 0.
func TestListenStopsWithZero(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "listen", "--addr", "127.0.0.1:0")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !bufio.NewScanner(stderr).Scan() {
		t.Fatal("listen printed nothing")
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	if err := cmd.Wait(); exitOf(err) != 0 {
		t.Errorf("listen after SIGINT: exit %d, want 0", exitOf(err))
	}
}
