package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookd/webhookd/broker"
	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/worker"
)

// TestWorkerWithComposeNATSPermissions runs the real webhookd worker as the compose file does:
// connected as nats.conf's webhookd user (standalone SQLite store instead of MongoDB). An event
// published by the publisher user reaches a receiver, an operator's control request is
// answered, and the server refuses nothing webhookd does: the permissions are enough, not only
// tight.
func TestWorkerWithComposeNATSPermissions(t *testing.T) {
	s := startComposeNATS(t)
	runWorkerAsItsRole(t, s.ClientURL(), func(o *worker.Options) { o.NATS.URL = s.ClientURL() })
}

// TestStandaloneImageEmbeddedNATS runs webhookd as the image does standalone: the embedded
// NATS server on all interfaces, which webhookd allows only with the users of
// deploy/nats/users.conf, and webhookd connected to it as its own role. The same event,
// control request and permission checks as with the compose NATS server hold.
func TestStandaloneImageEmbeddedNATS(t *testing.T) {
	setNATSPasswords(t)
	port := freePort(t)
	runWorkerAsItsRole(t, fmt.Sprintf("nats://127.0.0.1:%d", port), func(o *worker.Options) {
		o.NATS.URL = ""
		o.EmbeddedNATSListen = fmt.Sprintf("0.0.0.0:%d", port)
		o.EmbeddedNATSConfig = filepath.Join(repoRoot, "deploy/nats/users.conf")
	})
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// runWorkerAsItsRole starts webhookd connected as the webhookd user with its inbox prefix
// (tweak says where NATS is) and checks that it works as that role on the server at natsURL.
func runWorkerAsItsRole(t *testing.T, natsURL string, tweak func(*worker.Options)) {
	hooks := make(chan *http.Request, 16)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case hooks <- r:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()

	dir := t.TempDir()
	cfg := filepath.Join(dir, "webhookd.yaml")
	doc := fmt.Sprintf(`
webhook_definitions:
  - id: erp-sync
    name: ERP sync
    url: %s/hooks/erp
    secret_key: whsec_wjXxq2DHlX+Mmywcto91Swo5NIrHL1WaA1ZD47uuyR8=
workflow_rules:
  - id: customers
    name: Customers
    entity: customer
    webhook_definitions: [erp-sync]
`, receiver.URL)
	if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs testutil.LogBuffer
	ctx := t.Context()
	opts := worker.Options{
		NATS: broker.Options{User: "webhookd", Password: natsPasswords["webhookd"],
			InboxPrefix: inboxPrefix("webhookd")},
		DataDir:    dir,
		ConfigFile: cfg,
		HTTPAddr:   "127.0.0.1:0",
		// The receiver is on loopback; compose allows its receiver the same way, by name.
		AllowDestinations: []string{"127.0.0.1"},
		Logger:            slog.New(slog.NewTextHandler(&logs, nil)),
		ShutdownTimeout:   5 * time.Second,
	}
	tweak(&opts)
	w, err := worker.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start webhookd as the compose webhookd user: %v\n%s", err, logs.String())
	}
	// Stop is idempotent: this call matters only when the test ends early.
	defer func() { _ = w.Stop(context.Background()) }()

	waitFor(t, "webhookd /readyz", func() (bool, string) {
		resp, err := http.Get("http://" + w.HTTPAddr() + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK, string(b)
	})

	publisher := connectAs(t, natsURL, "publisher")
	pjs, err := jetstream.New(publisher.nc)
	if err != nil {
		t.Fatal(err)
	}
	event := `{"id":"e-1","entity":"customer","entity_id":"C-1001","action":"updated","occurred_at":"2026-11-27T10:00:00Z","data":{"name":"Ada"}}`
	if _, err := pjs.Publish(ctx, "crm.events.customer.updated", []byte(event), jetstream.WithMsgID("e-1")); err != nil {
		t.Fatalf("publisher publishes: %v", err)
	}
	select {
	case r := <-hooks:
		if r.Header.Get("webhook-id") == "" {
			t.Errorf("webhook without webhook-id: %v", r.Header)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no webhook reached the receiver\n%s", logs.String())
	}

	operator := connectAs(t, natsURL, "operator")
	waitFor(t, "the webhook request listed through a control request", func() (bool, string) {
		reply, err := operator.nc.RequestWithContext(ctx, "crm.webhooks.control.requests.list", []byte(`{"limit":10}`))
		if err != nil {
			return false, err.Error()
		}
		var r struct {
			OK     bool `json:"ok"`
			Result struct {
				Items []json.RawMessage `json:"items"`
			} `json:"result"`
		}
		if err := json.Unmarshal(reply.Data, &r); err != nil {
			return false, err.Error()
		}
		return r.OK && len(r.Result.Items) == 1, string(reply.Data) + "\n" + logs.String()
	})
	publisher.expectNoErrors(t)
	operator.expectNoErrors(t)

	if err := w.Stop(context.Background()); err != nil {
		t.Errorf("stop webhookd: %v", err)
	}
	if l := logs.String(); strings.Contains(strings.ToLower(l), "permissions violation") {
		t.Fatalf("the NATS server refused something webhookd does:\n%s", l)
	}
}

// waitFor polls cond until it holds or a deadline passes; cond says why it does not hold yet.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %s", what, why)
		}
		<-tick.C
	}
}
