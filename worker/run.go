package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/webhookd/webhookd/broker"
	"github.com/webhookd/webhookd/broker/embedded"
	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/console"
	"github.com/webhookd/webhookd/consumer"
	"github.com/webhookd/webhookd/control"
	"github.com/webhookd/webhookd/delivery"
	"github.com/webhookd/webhookd/internal/datadir"
	"github.com/webhookd/webhookd/internal/startstop"
	"github.com/webhookd/webhookd/metrics"
	"github.com/webhookd/webhookd/pipeline"
	"github.com/webhookd/webhookd/secrets"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/storage/mongo"
	"github.com/webhookd/webhookd/storage/sqlite"
)

// Worker is a running webhookd worker.
type Worker struct {
	opts     Options
	log      *slog.Logger
	metrics  *metrics.Metrics
	embedded *embedded.Server
	lock     *datadir.Lock // standalone: the data directory, held by this process alone
	nc       *nats.Conn
	store    openedStore
	http     *http.Server
	sender   *delivery.Client
	control  *control.Responder

	// The pipeline (package pipeline): its stages, and its background loops, each a service
	// this worker starts and stops in the phases of Stop.
	catalog     *pipeline.Catalog
	recorder    *pipeline.Recorder // the batch writers
	health      *pipeline.Health   // endpoint health, and its flusher
	deliverer   *pipeline.Deliverer
	storeHealth *pipeline.WriteHealth // the store's writes: an outage logged once, and seen by /readyz
	events      *pipeline.Events      // the events consumer
	pools       *pipeline.Pools       // the definitions' consumers, and their reconciler
	// The keeper, the catalog's watcher, endpoint health's flusher and the gauges sampler:
	// stopped once the deliveries are done.
	background []startstop.Service

	// The web console (package console): bound at the start, served once the control plane runs.
	console      *console.Console
	consoleLn    net.Listener
	consoleUsers *console.Users

	queueHealth *pipeline.WriteHealth // the queueing of deliveries on JetStream: likewise
	httpLn      net.Listener
	ready       chan struct{} // closed once consumers are bound

	cancelFetch  context.CancelFunc // stops fetching (phase 1 of shutdown)
	cancelWork   context.CancelFunc // cuts in-flight work short (phase 2, after the grace period)
	cancelHealth context.CancelFunc // stops endpoint health once deliveries are done
	stopOnce     sync.Once
	stopErr      error
}

// Start brings up a worker: NATS, the store, the configuration, the consumers and the HTTP
// endpoints. On error everything already started is stopped again.
func Start(ctx context.Context, opts Options) (_ *Worker, err error) {
	opts.setDefaults()
	w := &Worker{opts: opts, log: opts.Logger, ready: make(chan struct{})}
	defer func() {
		if err != nil {
			if w.cancelWork != nil {
				w.cancelFetch()
				w.cancelWork()
				w.cancelHealth()
			}
			cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalReserve)
			defer cancel()
			w.stopConsole(cleanup)
			w.stopControl(cleanup)
			if w.recorder != nil {
				w.recorder.Stop(cleanup)
			}
			_ = w.closeResources(cleanup)
		}
	}()
	w.metrics = metrics.New(opts.Registry, opts.Version)
	_ = opts.Registry.Register(collectors.NewGoCollector())
	_ = opts.Registry.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// Everything that can be checked without the store is checked before anything is
	// created on disk or on the network: a typo in --config must not leave a data directory.
	if p := opts.NATS.InboxPrefix; p != "" {
		if err := broker.CheckInboxPrefix(p); err != nil {
			return nil, fmt.Errorf("--nats-inbox-prefix: %w", err)
		}
	}
	var doc *config.Document
	if opts.ConfigFile != "" {
		if doc, err = loadConfigFile(opts.ConfigFile); err != nil {
			return nil, err
		}
	}
	allow, err := delivery.ParseAllowList(opts.AllowDestinations)
	if err != nil {
		return nil, err // it names the flag and the entry
	}
	var natsServer *server.Options
	if opts.NATS.URL == "" {
		natsServer, err = embedded.Options(embedded.Config{DataDir: opts.DataDir, Listen: opts.EmbeddedNATSListen,
			ConfigFile: opts.EmbeddedNATSConfig})
		switch {
		case errors.Is(err, embedded.ErrOpenToTheNetwork):
			return nil, fmt.Errorf("--embedded-nats-listen %s: %w", opts.EmbeddedNATSListen, err)
		case err != nil:
			return nil, fmt.Errorf("--embedded-nats-config: %w", err)
		}
	}

	var keys *keyFile
	switch {
	case opts.SecretsKeyFile != "":
		if keys, err = loadKeyFile(opts.SecretsKeyFile); err != nil {
			return nil, err
		}
	case opts.MongoURI != "":
		return nil, errNoKeyFile
	}

	// Endpoints first, so /healthz answers while we connect and /readyz says why we are not ready.
	if err := w.startHTTP(); err != nil {
		return nil, err
	}
	if err := w.listenConsole(); err != nil {
		return nil, err
	}

	switch {
	case opts.NATS.URL == "":
		if w.lock, err = datadir.Acquire(opts.DataDir); err != nil {
			return nil, fmt.Errorf("--data-dir: %w", err)
		}
	case opts.MongoURI == "":
		if _, err = datadir.Prepare(opts.DataDir); err != nil {
			return nil, fmt.Errorf("--data-dir: %w", err)
		}
	}

	if keys == nil {
		// Standalone without --secrets-key-file: the data directory keeps the key.
		if keys, err = loadOrCreateKeyFile(filepath.Join(opts.DataDir, StandaloneKeyFile)); err != nil {
			return nil, err
		}
	}

	natsOpts := opts.NATS
	if natsOpts.URL == "" {
		w.embedded, err = embedded.Start(ctx, natsServer, w.log)
		if err != nil {
			return nil, fmt.Errorf("--embedded-nats-listen %s: %w", opts.EmbeddedNATSListen, err)
		}
		// webhookd connects to its own server as any client does: with the --nats-* user and
		// inbox prefix the embedded configuration gives the worker role, if it has users.
		natsOpts.URL = w.embedded.ClientURL()
	}
	connectCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	w.nc, err = broker.Connect(connectCtx, natsOpts, w.log)
	cancel()
	if err != nil {
		return nil, err
	}
	// A publish ack that never comes (a leader election in a cluster) must fail, not hold its
	// handler forever: republishing is safe, every task has its message id.
	js, err := jetstream.New(w.nc, jetstream.WithPublishAsyncMaxPending(4096),
		jetstream.WithPublishAsyncTimeout(10*time.Second))
	if err != nil {
		return nil, fmt.Errorf("open JetStream: %w", err)
	}

	if w.store, err = openStore(ctx, opts, keys.keys); err != nil {
		return nil, err
	}
	if err := w.consoleAdmin(); err != nil {
		return nil, err
	}

	if doc != nil {
		if err := applyConfigFile(ctx, w.store, opts.ConfigFile, doc, opts.Now().UTC()); err != nil {
			return nil, err
		}
	}
	// Before the first load: what is sealed under an older key, or in clear, is sealed under
	// the first key now. A definition that cannot be opened fails the load below, by name.
	w.reencryptSecrets(ctx)
	w.catalog = pipeline.NewCatalog(w.store, w.metrics, w.log)
	if _, err := w.catalog.Load(ctx); err != nil {
		return nil, err
	}
	if len(w.catalog.Current().Definitions) == 0 {
		w.log.Info("no webhook definitions yet: nothing is delivered until some are added, " +
			"with --config FILE or `webhookctl apply -f FILE`")
	}

	eventsStream, err := consumer.EnsureEventsStream(ctx, js)
	if err != nil {
		return nil, err
	}
	deliveriesStream, err := consumer.EnsureDeliveriesStream(ctx, js)
	if err != nil {
		return nil, err
	}
	eventsCons, err := consumer.EnsureEventsConsumer(ctx, eventsStream, 4*opts.EventConcurrency)
	if err != nil {
		return nil, err
	}

	// Fetching stops when Stop is called; in-flight work runs on until the grace period is over.
	fetchCtx, cancelFetch := context.WithCancel(context.WithoutCancel(ctx))
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	w.cancelFetch, w.cancelWork = cancelFetch, cancelWork
	// Endpoint health runs until the deliveries of the grace period are done, so their outcomes
	// (a 410 among them) are written too.
	healthCtx, cancelHealth := context.WithCancel(context.WithoutCancel(ctx))
	w.cancelHealth = cancelHealth

	w.storeHealth = pipeline.NewStoreHealth(w.log.With("component", "store"), opts.Now)
	w.recorder = pipeline.NewRecorder(w.store, w.metrics, w.storeHealth)
	w.queueHealth = pipeline.NewQueueHealth(w.log.With("component", "jetstream"), opts.Now)
	_ = w.recorder.Start(workCtx)
	now := opts.Now
	w.health = pipeline.NewHealth(w.store, w.nc, w.catalog, w.metrics, w.log, now, opts.HealthFlush, w.storeHealth)
	w.sender = delivery.NewClient(delivery.Options{
		AllowDestinations:    allow,
		AllowPrivateNetworks: opts.AllowPrivateNets,
		UserAgent:            "webhookd/" + opts.Version,
	})
	keeper := pipeline.NewKeeper()
	w.deliverer = pipeline.NewDeliverer(pipeline.DelivererOptions{JS: js, Catalog: w.catalog, Sender: w.sender,
		Recorder: w.recorder, Health: w.health, Keeper: keeper, Queueing: w.queueHealth, Metrics: w.metrics, Log: w.log.With("stage", "deliver"),
		Now: now})
	// Standalone, a decision waits for the embedded JetStream to take writes again (a full disk).
	var mender pipeline.Mender
	if w.embedded != nil {
		mender = w.embedded
	}
	w.pools = pipeline.NewPools(deliveriesStream, w.nc, w.deliverer, mender, w.log.With("stage", "deliver"), workCtx,
		opts.Reconcile, w.catalog.Current)
	depths := &pipeline.QueueDepths{}
	fo := pipeline.NewFanout(pipeline.FanoutOptions{JS: js, Catalog: w.catalog, Recorder: w.recorder, Deliverer: w.deliverer,
		Keeper: keeper, Depths: depths, Pools: w.pools, Queueing: w.queueHealth, Metrics: w.metrics, Log: w.log.With("stage", "fanout"), Now: now,
		Concurrency: opts.EventConcurrency})
	w.events = pipeline.NewEvents(eventsCons, opts.EventConcurrency, fo, mender, w.nc, w.log.With("stage", "fanout"), workCtx)
	watcher := w.catalog.Watcher(opts.ConfigPoll, func(s *pipeline.Snapshot) {
		w.pools.Reconcile(fetchCtx, s)
		w.deliverer.Prune(s)
		// Another replica, its key file not yet rotated, may have written under an older key.
		w.reencryptSecrets(fetchCtx)
	})
	gauges := &gauges{nc: w.nc, store: w.store, metrics: w.metrics, every: opts.SampleEvery,
		events: eventsStream, deliveries: deliveriesStream, depths: depths}
	// The last step that can fail comes before any loop starts but the recorder's writers, so a
	// failed Start has nothing else running to stop.
	if err := w.startControl(ctx); err != nil {
		return nil, err
	}
	if err := w.startConsole(); err != nil {
		return nil, err
	}
	// Each service's loop runs under the context of the phase of Stop that ends it: fetching,
	// in-flight work, endpoint health.
	_ = w.pools.Start(fetchCtx)
	_ = w.events.Start(fetchCtx)
	_ = keeper.Start(workCtx)
	_ = watcher.Start(fetchCtx)
	_ = w.health.Start(healthCtx)
	_ = gauges.Start(fetchCtx)
	w.background = []startstop.Service{keeper, watcher, w.health, gauges}
	close(w.ready)
	w.log.Info("webhookd started", "version", opts.Version, "nats", w.nc.ConnectedUrlRedacted(),
		"store", storeKind(opts), "http", w.httpLn.Addr().String(), "allow_destinations", allow.Entries(), "console", w.ConsoleAddr())
	keys.log(w.log)
	if opts.AllowPrivateNets {
		w.log.Warn("--allow-private-networks is on: deliveries may reach loopback and every internal " +
			"address (cloud metadata excepted); name the receivers with --allow-destination instead")
	}
	return w, nil
}

// openStore opens MongoDB when a URI is given, else the standalone store under the data dir.
// It returns a nil interface (never a typed nil) on error, so cleanup does not close nothing.
func openStore(ctx context.Context, opts Options, keys *secrets.Keyring) (openedStore, error) {
	if opts.MongoURI != "" {
		s, err := mongo.Open(ctx, opts.MongoURI, opts.MongoDatabase, keys)
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		return s, nil
	}
	s, err := sqlite.Open(ctx, filepath.Join(opts.DataDir, "webhookd.db"), keys)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return s, nil
}

func storeKind(o Options) string {
	if o.MongoURI != "" {
		return "mongodb"
	}
	return "sqlite"
}

// NATSURL is the URL of the NATS server the worker uses (the embedded one in standalone mode).
func (w *Worker) NATSURL() string { return w.nc.ConnectedUrl() }

// HTTPAddr is the address the HTTP endpoints listen on.
func (w *Worker) HTTPAddr() string { return w.httpLn.Addr().String() }

// Stop shuts the worker down within ctx's deadline (Options.ShutdownTimeout when ctx has
// none), the one bound of the whole shutdown:
//  1. stop fetching and taking control commands and console requests;
//  2. let in-flight deliveries finish, until a reserve (5s at most) before the deadline;
//  3. hand back what is still in flight (never acknowledged: JetStream redelivers it at once);
//  4. write the last batch and endpoint health, close HTTP, NATS, the store and the data dir.
//
// Cancelling ctx (a second signal) cuts every phase short: in-flight work is handed back now
// and the last writes are abandoned, which loses nothing, since a message is acknowledged only
// after its document is written. Stop is idempotent; later calls return the first one's error.
func (w *Worker) Stop(ctx context.Context) error {
	w.stopOnce.Do(func() { w.stopErr = w.stop(ctx) })
	return w.stopErr
}

// finalReserve is kept from the shutdown deadline for phases 3 and 4 (a quarter of a shorter
// deadline).
const finalReserve = 5 * time.Second

// hurriedReserve bounds phases 3 and 4 once ctx is cancelled: a hand-back and a close take
// milliseconds when NATS is there, and nothing is lost when it is not.
const hurriedReserve = 2 * time.Second

func (w *Worker) stop(ctx context.Context) error {
	w.log.Info("webhookd stopping: no new work is fetched")
	w.cancelFetch()
	// The control plane stops taking commands now too; those in progress finish (bulk work
	// is interrupted) while deliveries drain.
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.opts.ShutdownTimeout)
		defer cancel()
	}
	deadline, _ := ctx.Deadline()
	graceCtx, cancelGrace := context.WithDeadline(ctx, deadline.Add(-min(finalReserve, time.Until(deadline)/4)))
	defer cancelGrace()
	controlDone := make(chan struct{})
	go func() { defer close(controlDone); w.stopControl(graceCtx) }()
	// The console takes no more requests; its bulk work ends as the control plane stops.
	consoleDone := make(chan struct{})
	go func() { defer close(consoleDone); w.stopConsole(graceCtx) }()
	done := make(chan struct{})
	go func() {
		// Deliveries still waiting for a gate (a hanging receiver's slots, an open breaker's
		// probe) are handed back at once: only attempts under way are waited for.
		w.deliverer.StopWaiting()
		w.events.Stop()
		w.pools.Stop()
		close(done)
	}()
	if !w.awaitInFlight(graceCtx, done) {
		if ctx.Err() != nil {
			w.log.Warn("shutdown cut short: handing back in-flight work now")
		} else {
			w.log.Warn("shutdown grace period over: handing back in-flight work")
		}
		w.cancelWork()
	}
	// From here on each step has what is left of the deadline, or hurriedReserve once the
	// caller gave up waiting.
	finalCtx, cancelFinal := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancelFinal()
	go func() {
		select {
		case <-ctx.Done():
		case <-finalCtx.Done():
			return
		}
		t := time.NewTimer(hurriedReserve)
		defer t.Stop()
		select {
		case <-t.C:
			cancelFinal()
		case <-finalCtx.Done():
		}
	}()
	select {
	case <-done:
	case <-finalCtx.Done():
		// Handing back needs the server; unreachable, it redelivers after the ack wait.
		w.log.Warn("in-flight work not handed back in time; JetStream redelivers it after its ack wait")
	}
	w.cancelWork()
	w.cancelHealth()
	<-controlDone
	<-consoleDone
	for _, s := range w.background {
		s.Stop()
	}
	w.health.Flush(finalCtx)
	w.recorder.Stop(finalCtx)
	w.sender.CloseIdleConnections()
	err := w.closeResources(finalCtx)
	w.log.Info("webhookd stopped")
	return err
}

// awaitInFlight waits for done until ctx ends, saying what it waits for at the start and every
// few seconds, so a stop that takes a while is never silent. It reports whether done came.
func (w *Worker) awaitInFlight(ctx context.Context, done <-chan struct{}) bool {
	select {
	case <-done:
		return true
	default:
	}
	say := func(prefix string) {
		n := w.deliverer.InFlight()
		d, _ := ctx.Deadline()
		left := time.Until(d).Round(time.Second)
		w.log.Info(fmt.Sprintf("%s up to %s for %d in-flight deliveries", prefix, left, n),
			"in_flight", n, "timeout", left.String())
	}
	if w.deliverer.InFlight() > 0 {
		say("waiting")
	}
	progress := time.NewTicker(5 * time.Second)
	defer progress.Stop()
	for {
		select {
		case <-done:
			return true
		case <-ctx.Done():
			return false
		case <-progress.C:
			say("still waiting")
		}
	}
}

// closeResources closes what Start opened, each within ctx. The data directory is released
// last: it is free only once nothing of ours writes to it.
func (w *Worker) closeResources(ctx context.Context) error {
	var errs []error
	if w.consoleLn != nil && w.console == nil {
		_ = w.consoleLn.Close() // bound but not served (a failed start), or already shut down
	}
	if w.http != nil {
		if err := w.http.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop HTTP server: %w", err), w.http.Close())
		}
	}
	if w.nc != nil {
		// Drain flushes acknowledgements still in the connection's buffer before closing it.
		closed := make(chan struct{})
		w.nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
		if err := w.nc.Drain(); err == nil {
			select {
			case <-closed:
			case <-ctx.Done():
			}
		}
		w.nc.Close()
	}
	if w.store != nil {
		errs = append(errs, w.store.Close(ctx))
	}
	if w.embedded != nil {
		w.embedded.Shutdown()
	}
	errs = append(errs, w.lock.Release())
	return errors.Join(errs...)
}

// loadConfigFile reads and checks --config before anything else starts. A rule may still name
// a definition that only the store has, so references are checked again by applyConfigFile.
func loadConfigFile(path string) (*config.Document, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--config: %w", err)
	}
	doc, err := config.ParseYAML(b)
	if err != nil {
		return nil, fmt.Errorf("--config %s: %w", path, err)
	}
	// A rule may name a definition only the store has: that alone is no fault yet. With other
	// faults, every fault is reported at once, an unknown definition among them.
	if err := doc.Validate(func(string) bool { return true }); err != nil {
		strict := doc.Validate(nil)
		return nil, fmt.Errorf("--config %s: %w", path, strict)
	}
	return doc, nil
}

// applyConfigFile applies --config at start: all or nothing, but only the entries that differ
// from what is stored. Every replica applies it at every start, so a rolling restart must neither
// reload every replica nor undo what happened since: a definition that endpoint health
// deactivated stays inactive until the file (or config.apply) changes it.
func applyConfigFile(ctx context.Context, store pipeline.Store, path string, doc *config.Document, at time.Time) error {
	defs, err := store.ListDefinitions(ctx)
	if err != nil {
		return fmt.Errorf("apply --config %q: %w", path, err)
	}
	rules, err := store.ListRules(ctx)
	if err != nil {
		return fmt.Errorf("apply --config %q: %w", path, err)
	}
	storedDefs := make(map[string]config.Definition, len(defs))
	for _, d := range defs {
		storedDefs[d.ID] = d
	}
	if err := doc.Validate(func(id string) bool { _, ok := storedDefs[id]; return ok }); err != nil {
		return fmt.Errorf("--config %q: %w", path, err)
	}
	storedRules := make(map[string]config.Rule, len(rules))
	for _, r := range rules {
		storedRules[r.ID] = r
	}
	var changedDefs []config.Definition
	for _, d := range doc.WebhookDefinitions {
		if old, ok := storedDefs[d.ID]; !ok || !sameDefinition(d, old) {
			changedDefs = append(changedDefs, d)
		}
	}
	var changedRules []config.Rule
	for _, r := range doc.WorkflowRules {
		if old, ok := storedRules[r.ID]; !ok || !sameRule(r, old) {
			changedRules = append(changedRules, r)
		}
	}
	if len(changedDefs) == 0 && len(changedRules) == 0 {
		return nil
	}
	if err := store.ApplyConfig(ctx, changedDefs, changedRules, storage.SystemUser, at); err != nil {
		return fmt.Errorf("apply --config %q: %w", path, err)
	}
	return nil
}

// sameDefinition reports whether the file's definition says what the stored one says. A
// deactivation by endpoint health is not a difference: it is kept.
func sameDefinition(file, stored config.Definition) bool {
	if stored.DisabledReason != "" && file.Active && !stored.Active {
		stored.Active = true
	}
	return sameJSON(file, stored)
}

func sameRule(file, stored config.Rule) bool { return sameJSON(file, stored) }

// sameJSON compares two entries as JSON, without the bookkeeping fields and with empty lists,
// maps and null alike, since a store may return either.
func sameJSON[T config.Definition | config.Rule](a, b T) bool {
	norm := func(v T) string {
		raw, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return ""
		}
		// The secret rotation is the store's, never the file's.
		for _, k := range []string{"updated_at", "updated_by", "disabled_reason", "disabled_at",
			"previous_secret_key", "secret_rotated_at", "previous_secret_until"} {
			delete(m, k)
		}
		for k, x := range m {
			switch y := x.(type) {
			case nil:
				delete(m, k)
			case []any:
				if len(y) == 0 {
					delete(m, k)
				}
			case map[string]any:
				if len(y) == 0 {
					delete(m, k)
				}
			}
		}
		out, _ := json.Marshal(m) // map keys are sorted
		return string(out)
	}
	x := norm(a)
	return x != "" && x == norm(b)
}

// readyCheck says what keeps the worker from being ready, or nil.
func (w *Worker) readyCheck(ctx context.Context) error {
	select {
	case <-w.ready:
	default:
		return errors.New("starting: consumers not bound yet")
	}
	if !w.nc.IsConnected() {
		return errors.New("NATS: not connected")
	}
	// Every reason is told: a full standalone disk fails the store and JetStream at once.
	var errs []error
	if w.embedded != nil {
		// Its JetStream refuses events and deliveries although clients stay connected.
		if err := w.embedded.StoreErr(); err != nil {
			errs = append(errs, fmt.Errorf("embedded NATS: %w", err))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if since, err := w.queueHealth.Failing(); err != nil {
		errs = append(errs, fmt.Errorf("JetStream: queueing deliveries failing since %s: %w", since.UTC().Format(time.RFC3339), err))
	}
	// What the writes saw first: a store can answer pings and still refuse writes.
	if since, err := w.storeHealth.Failing(); err != nil {
		errs = append(errs, fmt.Errorf("store: writes failing since %s: %w", since.UTC().Format(time.RFC3339), err))
	} else if err := w.store.Ping(ctx); err != nil {
		errs = append(errs, fmt.Errorf("store: %w", err))
	}
	return errors.Join(errs...)
}
