package main_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/storage/sqlite"
)

// TestKillNineLosesNothing kills webhookd with SIGKILL while it delivers, starts it again on the
// same data dir, and checks that every event ends with exactly one webhook request and reached
// the receiver at least once.
func TestKillNineLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()

	var mu sync.Mutex
	got := map[string]int{}
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got[r.Header.Get("webhook-id")]++
		mu.Unlock()
		_ = b
	}))
	defer rc.Close()
	cfg := writeConfig(t, dir, rc.URL, "    max_in_flight: 8")
	natsAddr, httpAddr := freeAddr(t), freeAddr(t)
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "--config", cfg, "--allow-private-networks", "--data-dir", filepath.Join(dir, "data"),
			"--embedded-nats-listen", natsAddr, "--http-addr", httpAddr, "--console-addr=")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitReady(t, httpAddr)
		return cmd
	}

	cmd := start()
	nc, err := nats.Connect("nats://"+natsAddr, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	const n = 300
	for i := range n {
		body := fmt.Sprintf(`{"id":"k-%d","entity":"customer","entity_id":"C","action":"updated","occurred_at":"2026-11-27T10:00:00Z","data":{"i":%d}}`, i, i)
		if _, err := js.PublishAsync("crm.events.customer.updated", []byte(body), jetstream.WithMsgID(fmt.Sprintf("k-%d", i)), jetstream.WithStallWait(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		t.Fatal("publish acks did not come")
	}
	testutil.Eventually(t, 30*time.Second, "some deliveries", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= 20
	})
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	cmd = start()
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	store, err := sqlite.Open(context.Background(), filepath.Join(dir, "data", "webhookd.db"),
		testutil.LoadKeyFile(t, filepath.Join(dir, "data", "secrets.key")))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(context.Background())
	testutil.Eventually(t, 60*time.Second, fmt.Sprintf("%d webhook requests", n), func() bool {
		c, err := store.CountRequests(context.Background(), storage.Filter{})
		return err == nil && c >= n
	})
	reqs, err := store.ListRequests(context.Background(), storage.ListQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	perEvent := map[string]int{}
	for _, r := range reqs {
		perEvent[r.EventID]++
		if r.State != storage.StateSuccessful {
			t.Errorf("request %s is %s (%s)", r.Number, r.State, r.ErrorCode)
		}
	}
	for i := range n {
		if c := perEvent[fmt.Sprintf("k-%d", i)]; c != 1 {
			t.Errorf("event k-%d has %d webhook requests, want exactly 1", i, c)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != n {
		t.Errorf("receiver saw %d distinct webhook-ids, want %d", len(got), n)
	}
	dups := 0
	for _, c := range got {
		dups += c - 1
	}
	t.Logf("after kill -9: %d of %d deliveries were received twice (at least once, deduplicable by webhook-id)", dups, n)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit after SIGINT: %v", err)
	}
}
