// Package workertest runs a whole worker in a test: standalone by default (its embedded NATS
// server, its SQLite store under the test's temporary directory), or with the NATS server and
// the MongoDB its options name; a receiver on loopback that verifies every signature; and the
// helpers to publish events and read back what the worker stored. The worker's black-box tests
// use it, and so do the tests that run the pipeline on MongoDB (internal/mongotest/worker),
// which are a module of their own because of the FerretDB they run on.
package workertest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/consumer"
	"github.com/webhookd/webhookd/internal/receivertest"
	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/storage/mongo"
	"github.com/webhookd/webhookd/storage/sqlite"
	"github.com/webhookd/webhookd/worker"
)

// Secret is the secret key of every definition DefinitionYAML writes; the receiver verifies
// signatures with it.
const Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// NewReceiver starts the tests' receiver (internal/receivertest), checking every signature with
// Secret, answering the n-th request (1-based) with answer(n, r), or 200 when answer is nil.
func NewReceiver(t testing.TB, answer func(n int, r *http.Request) int) *receivertest.Receiver {
	t.Helper()
	return receivertest.New(t, receivertest.Verify(Secret), receivertest.Answer(answer))
}

// Env is a worker with its data dir, a client connection to its NATS and the store it writes.
type Env struct {
	Dir   string         // the data directory: the test's temporary one (where --config is) unless a tweak chose another
	Opts  worker.Options // Start starts the worker with these
	W     *worker.Worker // the worker of the last Start
	NC    *nats.Conn
	JS    jetstream.JetStream
	Store Store
	// StoreURI, when set, is the MongoDB URI OpenStore opens instead of the worker's (which a
	// test may cut, reading the store past the cut).
	StoreURI string

	t       testing.TB
	stopped bool
}

// Store is what the tests read back from the worker's store.
type Store interface {
	ListRequests(ctx context.Context, q storage.ListQuery) ([]*storage.WebhookRequest, error)
	CountRequests(ctx context.Context, f storage.Filter) (int64, error)
	ListInvalidEvents(ctx context.Context, limit int) ([]storage.InvalidEvent, error)
	GetDefinition(ctx context.Context, id string) (*config.Definition, error)
	ConfigVersion(ctx context.Context) (int64, error)
	Close(ctx context.Context) error
}

// WriteConfig writes a configuration file config.yaml in dir and returns its path.
func WriteConfig(t testing.TB, dir, yaml string) string {
	t.Helper()
	p := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Setup starts a worker on configYAML, standalone unless tweak changes its options (a MongoDB
// URI and database, a NATS URL), and stops it when the test ends.
func Setup(t testing.TB, configYAML string, tweak ...func(*worker.Options)) *Env {
	t.Helper()
	dir := t.TempDir()
	opts := worker.Options{
		EmbeddedNATSListen: "127.0.0.1:0",
		DataDir:            dir,
		ConfigFile:         WriteConfig(t, dir, configYAML),
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
	if opts.MongoURI != "" && opts.SecretsKeyFile == "" {
		// MongoDB mode needs a key file; standalone makes its own in the data directory.
		opts.SecretsKeyFile = testutil.KeyFile(t, dir)
	}
	e := &Env{t: t, Dir: opts.DataDir, Opts: opts}
	t.Cleanup(e.closeClients) // runs after the worker stopped (cleanups run last-in first-out)
	t.Cleanup(e.Stop)
	e.Start()
	return e
}

// Start starts the worker on e.Opts, again after a Stop: a restart reuses the embedded NATS
// server's port, so the client connection reconnects on its own.
func (e *Env) Start() {
	e.t.Helper()
	// No deadline: the MongoDB driver turns one into maxTimeMS, which FerretDB's createIndexes
	// mishandles (it drops the connection); webhookd itself starts under a signal context.
	ctx := context.Background()
	w, err := worker.Start(ctx, e.Opts)
	if err != nil {
		e.t.Fatalf("start worker: %v", err)
	}
	e.W, e.stopped = w, false
	if e.Opts.NATS.URL == "" {
		// Later restarts reuse the same port, so the client reconnects on its own.
		e.Opts.EmbeddedNATSListen = strings.TrimPrefix(w.NATSURL(), "nats://")
	}
	if e.NC == nil {
		e.NC, err = nats.Connect(w.NATSURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
		if err != nil {
			e.t.Fatalf("connect to NATS: %v", err)
		}
		e.JS, _ = jetstream.New(e.NC)
		e.OpenStore()
	}
}

// OpenStore opens e.Store, the test's own connection to the worker's store (Start does, the
// first time). After CloseStore, it opens it again.
func (e *Env) OpenStore() {
	e.t.Helper()
	ctx := context.Background()
	keyFile := e.Opts.SecretsKeyFile
	if keyFile == "" {
		keyFile = filepath.Join(e.Opts.DataDir, worker.StandaloneKeyFile)
	}
	keys := testutil.LoadKeyFile(e.t, keyFile)
	if e.Opts.MongoURI != "" {
		uri := e.Opts.MongoURI
		if e.StoreURI != "" {
			uri = e.StoreURI
		}
		s, err := mongo.Open(ctx, uri, e.Opts.MongoDatabase, keys)
		if err != nil {
			e.t.Fatalf("open store: %v", err)
		}
		e.Store = s
		return
	}
	s, err := sqlite.Open(ctx, filepath.Join(e.Dir, "webhookd.db"), keys)
	if err != nil {
		e.t.Fatalf("open store: %v", err)
	}
	e.Store = s
}

// CloseStore closes e.Store, so that nothing of the test holds the data directory's files (a
// disk to unmount); OpenStore opens it again.
func (e *Env) CloseStore() {
	e.t.Helper()
	if e.Store == nil {
		return
	}
	if err := e.Store.Close(context.Background()); err != nil {
		e.t.Errorf("close store: %v", err)
	}
	e.Store = nil
}

// Stop stops the worker; the clients stay connected for a later Start.
func (e *Env) Stop() {
	e.t.Helper()
	if !e.stopped && e.W != nil {
		if err := e.W.Stop(context.Background()); err != nil {
			e.t.Errorf("stop worker: %v", err)
		}
		e.stopped = true
	}
}

func (e *Env) closeClients() {
	if e.NC != nil {
		e.NC.Close()
	}
	if e.Store != nil {
		_ = e.Store.Close(context.Background())
	}
}

// Event is an entity change event as a publisher sends it, with the occurrence time as text.
type Event struct {
	ID         string         `json:"id"`
	Entity     string         `json:"entity"`
	EntityID   string         `json:"entity_id"`
	Action     string         `json:"action"`
	OccurredAt string         `json:"occurred_at"`
	Actor      string         `json:"actor,omitempty"`
	Changed    []string       `json:"changed,omitempty"`
	Data       map[string]any `json:"data"`
}

// Publish publishes x on its subject, with its id as the JetStream message id; OccurredAt
// defaults to a fixed time.
func (e *Env) Publish(x Event) {
	e.t.Helper()
	subject, body := x.message()
	e.PublishRaw(subject, body, x.ID)
}

// TryPublish publishes x as Publish does, once, and returns the error of a publish that
// JetStream did not acknowledge within 2 seconds or ctx; it may be called from any goroutine.
func (e *Env) TryPublish(ctx context.Context, x Event) error {
	subject, body := x.message()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return e.publish(ctx, subject, body, x.ID)
}

func (x Event) message() (subject string, body []byte) {
	if x.OccurredAt == "" {
		x.OccurredAt = "2026-11-27T10:00:00Z"
	}
	b, _ := json.Marshal(x)
	return fmt.Sprintf("crm.events.%s.%s", x.Entity, x.Action), b
}

// PublishRaw publishes body on subject, with msgID as the JetStream message id unless empty.
func (e *Env) PublishRaw(subject string, body []byte, msgID string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.publish(ctx, subject, body, msgID); err != nil {
		e.t.Fatal(err)
	}
}

func (e *Env) publish(ctx context.Context, subject string, body []byte, msgID string) error {
	m := nats.NewMsg(subject)
	m.Data = body
	if msgID != "" {
		m.Header.Set(jetstream.MsgIDHeader, msgID)
	}
	if _, err := e.JS.PublishMsg(ctx, m); err != nil {
		return fmt.Errorf("publish on %s: %w", subject, err)
	}
	return nil
}

// DeliveryConsumer is the durable JetStream consumer of definition def's deliveries. A
// definition has one only while deliveries are queued for it: this waits up to a minute (a
// reconcile interval) for the worker to make it.
func (e *Env) DeliveryConsumer(ctx context.Context, def string) jetstream.Consumer {
	e.t.Helper()
	s, err := e.JS.Stream(ctx, consumer.DeliveriesStream)
	if err != nil {
		e.t.Fatalf("stream %s: %v", consumer.DeliveriesStream, err)
	}
	var c jetstream.Consumer
	testutil.Eventually(e.t, time.Minute, "the delivery consumer of definition "+def, func() bool {
		c, err = s.Consumer(ctx, consumer.DeliveryConsumerName(def))
		return err == nil
	})
	return c
}

// Requests lists the stored webhook requests matching f, newest first (at most 1000).
func (e *Env) Requests(f storage.Filter) []*storage.WebhookRequest {
	e.t.Helper()
	reqs, err := e.Store.ListRequests(context.Background(), storage.ListQuery{Filter: f, Limit: 1000})
	if err != nil {
		e.t.Fatalf("list requests: %v", err)
	}
	return reqs
}

// WaitRequests waits up to 20 seconds for at least n stored webhook requests matching f.
func (e *Env) WaitRequests(n int, f storage.Filter) []*storage.WebhookRequest {
	e.t.Helper()
	var reqs []*storage.WebhookRequest
	testutil.Eventually(e.t, time.Minute, fmt.Sprintf("%d webhook requests matching %+v", n, f), func() bool {
		reqs = e.Requests(f)
		return len(reqs) >= n
	})
	return reqs
}

// DefinitionYAML is a webhook definition entry of a configuration file, with the lines of extra
// (indented by four spaces) after its required fields.
func DefinitionYAML(id, url, extra string) string {
	return fmt.Sprintf(`
  - id: %s
    name: Definition %s
    url: %s
    secret_key: %s
%s`, id, id, url, Secret, extra)
}

// RuleYAML is an active workflow rule entry of a configuration file.
func RuleYAML(id, entity string, defs ...string) string {
	return fmt.Sprintf(`
  - id: %s
    name: Rule %s
    entity: %s
    webhook_definitions: [%s]`, id, id, entity, strings.Join(defs, ", "))
}

// ConfigOf is a configuration file of the entries of DefinitionYAML and RuleYAML.
func ConfigOf(defs []string, rules []string) string {
	return "webhook_definitions:" + strings.Join(defs, "") + "\nworkflow_rules:" + strings.Join(rules, "") + "\n"
}
