package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/consumer"
	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/storage/mongo"
	"github.com/webhookd/webhookd/storage/sqlite"
	"github.com/webhookd/webhookd/webhook"
	"github.com/webhookd/webhookd/worker"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// The HTTP client's idle keep-alive connections to httptest receivers close asynchronously.
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
	)
}

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// receiver is a webhook receiver on loopback that verifies every signature.
type receiver struct {
	t      testing.TB
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(n int, r *http.Request) int // status for the n-th request (1-based)
	count  atomic.Int64
}

type received struct {
	header http.Header
	body   []byte
	err    error // signature verification
}

func newReceiver(t testing.TB, answer func(n int, r *http.Request) int) *receiver {
	rc := &receiver{t: t, answer: answer}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n := int(rc.count.Add(1))
		err := webhook.Verify(testSecret, r.Header, body, time.Now(), 5*time.Minute)
		rc.mu.Lock()
		rc.got = append(rc.got, received{header: r.Header.Clone(), body: body, err: err})
		rc.mu.Unlock()
		status := http.StatusOK
		if rc.answer != nil {
			status = rc.answer(n, r)
		}
		w.Header().Set("X-Receiver", "test")
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `{"n":%d}`, n)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// env is a standalone worker with its data dir, and a client connection to its NATS.
type env struct {
	t       testing.TB
	dir     string
	opts    worker.Options
	w       *worker.Worker
	nc      *nats.Conn
	js      jetstream.JetStream
	store   readStore
	stopped bool
}

// readStore is what the tests read back from the worker's store.
type readStore interface {
	ListRequests(ctx context.Context, q storage.ListQuery) ([]*storage.WebhookRequest, error)
	CountRequests(ctx context.Context, f storage.Filter) (int64, error)
	ListInvalidEvents(ctx context.Context, limit int) ([]storage.InvalidEvent, error)
	GetDefinition(ctx context.Context, id string) (*config.Definition, error)
	ConfigVersion(ctx context.Context) (int64, error)
	Close(ctx context.Context) error
}

func writeConfig(t testing.TB, dir, yaml string) string {
	t.Helper()
	p := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func setup(t testing.TB, configYAML string, tweak ...func(*worker.Options)) *env {
	t.Helper()
	dir := t.TempDir()
	opts := worker.Options{
		EmbeddedNATSListen: "127.0.0.1:0",
		DataDir:            dir,
		ConfigFile:         writeConfig(t, dir, configYAML),
		HTTPAddr:           "127.0.0.1:0",
		AllowPrivateNets:   true,
		Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
		ConfigPoll:         100 * time.Millisecond,
		HealthFlush:        100 * time.Millisecond,
		ShutdownTimeout:    5 * time.Second,
	}
	if testing.Verbose() {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	for _, f := range tweak {
		f(&opts)
	}
	e := &env{t: t, dir: dir, opts: opts}
	t.Cleanup(e.closeClients) // runs after the worker stopped (cleanups run last-in first-out)
	t.Cleanup(e.stop)
	e.start()
	return e
}

func (e *env) start() {
	e.t.Helper()
	// No deadline: the MongoDB driver turns one into maxTimeMS, which FerretDB's createIndexes
	// mishandles (it drops the connection); webhookd itself starts under a signal context.
	ctx := context.Background()
	w, err := worker.Start(ctx, e.opts)
	if err != nil {
		e.t.Fatalf("start worker: %v", err)
	}
	e.w, e.stopped = w, false
	if e.opts.NATS.URL == "" {
		// Later restarts reuse the same port, so the client reconnects on its own.
		e.opts.EmbeddedNATSListen = strings.TrimPrefix(w.NATSURL(), "nats://")
	}
	if e.nc == nil {
		e.nc, err = nats.Connect(w.NATSURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
		if err != nil {
			e.t.Fatalf("connect to NATS: %v", err)
		}
		e.js, _ = jetstream.New(e.nc)
		if e.opts.MongoURI != "" {
			s, err := mongo.Open(ctx, e.opts.MongoURI, e.opts.MongoDatabase)
			if err != nil {
				e.t.Fatalf("open store: %v", err)
			}
			e.store = s
		} else {
			s, err := sqlite.Open(ctx, filepath.Join(e.dir, "webhookd.db"))
			if err != nil {
				e.t.Fatalf("open store: %v", err)
			}
			e.store = s
		}
	}
}

func (e *env) stop() {
	e.t.Helper()
	if !e.stopped && e.w != nil {
		if err := e.w.Stop(context.Background()); err != nil {
			e.t.Errorf("stop worker: %v", err)
		}
		e.stopped = true
	}
}

func (e *env) closeClients() {
	if e.nc != nil {
		e.nc.Close()
	}
	if e.store != nil {
		_ = e.store.Close(context.Background())
	}
}

type ev struct {
	ID         string         `json:"id"`
	Entity     string         `json:"entity"`
	EntityID   string         `json:"entity_id"`
	Action     string         `json:"action"`
	OccurredAt string         `json:"occurred_at"`
	Actor      string         `json:"actor,omitempty"`
	Changed    []string       `json:"changed,omitempty"`
	Data       map[string]any `json:"data"`
}

func (e *env) publish(x ev) {
	e.t.Helper()
	if x.OccurredAt == "" {
		x.OccurredAt = "2026-11-27T10:00:00Z"
	}
	b, _ := json.Marshal(x)
	e.publishRaw(fmt.Sprintf("crm.events.%s.%s", x.Entity, x.Action), b, x.ID)
}

func (e *env) publishRaw(subject string, body []byte, msgID string) {
	e.t.Helper()
	m := nats.NewMsg(subject)
	m.Data = body
	if msgID != "" {
		m.Header.Set(jetstream.MsgIDHeader, msgID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := e.js.PublishMsg(ctx, m); err != nil {
		e.t.Fatalf("publish on %s: %v", subject, err)
	}
}

// deliveryConsumer is the durable JetStream consumer of definition def's deliveries.
func (e *env) deliveryConsumer(ctx context.Context, def string) jetstream.Consumer {
	e.t.Helper()
	s, err := e.js.Stream(ctx, consumer.DeliveriesStream)
	if err != nil {
		e.t.Fatalf("stream %s: %v", consumer.DeliveriesStream, err)
	}
	c, err := s.Consumer(ctx, consumer.DeliveryConsumerName(def))
	if err != nil {
		e.t.Fatalf("consumer of definition %s: %v", def, err)
	}
	return c
}

func (e *env) requests(f storage.Filter) []*storage.WebhookRequest {
	e.t.Helper()
	reqs, err := e.store.ListRequests(context.Background(), storage.ListQuery{Filter: f, Limit: 1000})
	if err != nil {
		e.t.Fatalf("list requests: %v", err)
	}
	return reqs
}

func (e *env) waitRequests(n int, f storage.Filter) []*storage.WebhookRequest {
	e.t.Helper()
	var reqs []*storage.WebhookRequest
	testutil.Eventually(e.t, 20*time.Second, fmt.Sprintf("%d webhook requests matching %+v", n, f), func() bool {
		reqs = e.requests(f)
		return len(reqs) >= n
	})
	return reqs
}

func definitionYAML(id, url, extra string) string {
	return fmt.Sprintf(`
  - id: %s
    name: Definition %s
    url: %s
    secret_key: %s
%s`, id, id, url, testSecret, extra)
}

func ruleYAML(id, entity string, defs ...string) string {
	return fmt.Sprintf(`
  - id: %s
    name: Rule %s
    entity: %s
    webhook_definitions: [%s]`, id, id, entity, strings.Join(defs, ", "))
}

func configOf(defs []string, rules []string) string {
	return "webhook_definitions:" + strings.Join(defs, "") + "\nworkflow_rules:" + strings.Join(rules, "") + "\n"
}

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
