package main_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/webhookd/webhookd/internal/testutil"
)

// binPath is webhookd built once (lazily, by the first test that runs it) into binDir.
var binPath, binDir string

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) {
		if binDir != "" {
			os.RemoveAll(binDir)
		}
	}))
}

func buildBinary(t *testing.T) string {
	t.Helper()
	if binPath != "" {
		return binPath
	}
	dir, err := os.MkdirTemp("", "webhookd-bin")
	if err != nil {
		t.Fatal(err)
	}
	binDir = dir
	binPath = filepath.Join(dir, "webhookd")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return binPath
}

// TestStandaloneBinary runs webhookd the way the README's first command does, publishes an event
// with a plain NATS client, sees the webhook arrive, and stops it with SIGTERM.
func TestStandaloneBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	bin := buildBinary(t)

	var hits atomic.Int64
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("webhook-signature") != "" {
			hits.Add(1)
		}
	}))
	defer rc.Close()
	cfg := writeConfig(t, dir, rc.URL, "")

	natsAddr, httpAddr := freeAddr(t), freeAddr(t)
	// The receiver is on loopback: allowed by address, comma-separated in the environment.
	cmd := exec.Command(bin, "--config", cfg, "--log-format", "text")
	cmd.Env = append(os.Environ(),
		"WEBHOOKD_ALLOW_DESTINATION=10.99.0.0/16, 127.0.0.1,::1",
		"WEBHOOKD_DATA_DIR="+filepath.Join(dir, "data"),
		"WEBHOOKD_EMBEDDED_NATS_LISTEN="+natsAddr,
		"WEBHOOKD_HTTP_ADDR="+httpAddr,
		"WEBHOOKD_CONSOLE_ADDR=", // no console: its default port would be shared by the tests' processes
	)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logs := make(chan string, 1000)
	go func() {
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			select {
			case logs <- s.Text():
			default:
			}
		}
		close(logs)
	}()
	defer func() { _ = cmd.Process.Kill() }()

	waitReady(t, httpAddr)

	nc, err := nats.Connect("nats://" + natsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.Publish(ctx, "crm.events.customer.updated", []byte(`{"id":"e1","entity":"customer","entity_id":"C-1","action":"updated","occurred_at":"2026-11-27T10:00:00Z","data":{"name":"Ada"}}`), jetstream.WithMsgID("e1")); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, "a signed webhook", func() bool { return hits.Load() == 1 })

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			var all []string
			for l := range logs {
				all = append(all, l)
			}
			t.Fatalf("webhookd exited with %v after SIGTERM; logs:\n%s", err, strings.Join(all, "\n"))
		}
	case <-time.After(40 * time.Second):
		t.Fatal("webhookd did not stop within 40s of SIGTERM")
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// writeConfig writes a configuration to dir that sends every customer event to one definition,
// "local", at receiverURL; extra adds fields to that definition (YAML indented by four spaces).
func writeConfig(t *testing.T, dir, receiverURL, extra string) string {
	t.Helper()
	if extra != "" {
		extra = "\n" + extra
	}
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
webhook_definitions:
  - id: local
    name: Local receiver
    url: %s
    secret_key: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw%s
workflow_rules:
  - id: all-customers
    name: All customer events
    entity: customer
    webhook_definitions: [local]
`, receiverURL, extra)), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// waitReady waits until the webhookd at httpAddr answers /readyz with 200.
func waitReady(t *testing.T, httpAddr string) {
	t.Helper()
	testutil.Eventually(t, 60*time.Second, "/readyz", func() bool {
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}
