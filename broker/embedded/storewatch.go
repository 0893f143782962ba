package embedded

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ErrStoreWrites: the JetStream store refuses writes (a full disk, a read-only one).
var ErrStoreWrites = errors.New("JetStream store writes failing")

// storeWatch keeps the embedded JetStream writing through a full or read-only disk.
//
// nats-server (a single server, as here) keeps the first write error of a stream's files and
// refuses every later write to that stream, publishes and acknowledgements' removals alike, until
// the stream is loaded again: it does not recover by itself once the disk has room or is writable
// again (a clustered server would disable JetStream instead, which does not come back either). So
// the watch notices the fault (a write error in the server's log kicks it, and it polls the
// server's health), says so once, and once a probe write to the store's directory succeeds it
// restarts JetStream, which loads every stream and consumer from disk again. Nothing is lost by
// the restart: a message whose write failed was never acknowledged to its publisher, and each
// consumer writes its state when it stops.
type storeWatch struct {
	srv  *server.Server
	opts *server.Options
	log  *slog.Logger
	now  func() time.Time

	kick chan struct{} // a write error was logged: check now
	stop chan struct{}
	done chan struct{}

	mu       sync.Mutex
	downFrom time.Time     // zero: the store takes writes
	fault    error         // what the server's health said
	restarts int           // JetStream restarts during this outage
	back     chan struct{} // closed while the store takes writes
}

// Intervals of the watch: its poll while the store is healthy (a write error in the log checks
// at once), and its probes while it is not, doubling up to the last.
const (
	watchEvery    = 5 * time.Second
	probeEveryMin = 500 * time.Millisecond
	probeEveryMax = 10 * time.Second
)

// probeSize is what a probe writes: room for JetStream to load its streams again and take the
// first messages, not merely a byte that a nearly full disk still has.
const probeSize = 1 << 20

func newStoreWatch(srv *server.Server, opts *server.Options, log *slog.Logger) *storeWatch {
	back := make(chan struct{})
	close(back)
	return &storeWatch{srv: srv, opts: opts, log: log, now: time.Now, back: back,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// writeFailed is called by the server's logger when it reports a write error of the store.
func (w *storeWatch) writeFailed() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *storeWatch) run() {
	defer close(w.done)
	wait, healthy := watchEvery, true
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-w.kick:
			if !healthy {
				// The server logs every refused message; the probes have their own pace.
				continue
			}
		case <-t.C:
		}
		ok := w.check()
		switch {
		case ok:
			wait = watchEvery
		case healthy:
			wait = probeEveryMin
		default:
			wait = min(2*wait, probeEveryMax)
		}
		healthy = ok
		t.Reset(wait)
	}
}

// check looks at the store's health and, while it fails, tries to bring it back. It reports
// whether the store takes writes.
func (w *storeWatch) check() bool {
	fault := storeFault(w.srv)
	if fault == nil {
		w.recovered()
		return true
	}
	w.failing(fault)
	if err := probe(w.opts.StoreDir); err != nil {
		w.log.Debug("JetStream store still refuses writes", "store_dir", w.opts.StoreDir, "error", err)
		return false
	}
	w.mu.Lock()
	w.restarts++
	w.mu.Unlock()
	if err := restartJetStream(w.srv, w.opts); err != nil {
		w.log.Debug("restart JetStream", "error", err)
		return false
	}
	if fault := storeFault(w.srv); fault != nil {
		w.log.Debug("JetStream restarted, its store still fails", "error", fault)
		return false
	}
	w.recovered()
	return true
}

func (w *storeWatch) failing(fault error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fault = fault
	if !w.downFrom.IsZero() {
		return
	}
	w.downFrom = w.now()
	w.back = make(chan struct{})
	w.log.Error("JetStream store writes failing: events are not accepted and deliveries not queued; "+
		"JetStream restarts once its disk takes writes again", "store_dir", w.opts.StoreDir, "error", fault)
}

func (w *storeWatch) recovered() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.downFrom.IsZero() {
		return
	}
	w.log.Info("JetStream store writes succeed again: JetStream restarted and its streams loaded",
		"outage", w.now().Sub(w.downFrom).Round(time.Millisecond).String(), "restarts", w.restarts)
	w.downFrom, w.fault, w.restarts = time.Time{}, nil, 0
	close(w.back)
}

// writable returns a channel that is closed once the store takes writes (at once when it does).
func (w *storeWatch) writable() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.back
}

// err returns the outage in progress, or nil.
func (w *storeWatch) err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.downFrom.IsZero() {
		return nil
	}
	return fmt.Errorf("%w since %s: %w", ErrStoreWrites, w.downFrom.UTC().Format(time.RFC3339), w.fault)
}

func (w *storeWatch) shutdown() {
	close(w.stop)
	<-w.done
}

// storeFault returns the server's own word on its store when it cannot write it: a stream
// holding a write error, or JetStream disabled. Other faults (a stream that could not be loaded
// at start) are not a disk refusing writes, and no restart would mend them.
func storeFault(srv *server.Server) error {
	h := srv.Healthz(nil)
	if h.Error == "" {
		return nil
	}
	if strings.Contains(h.Error, "write error") || !srv.JetStreamEnabled() {
		return errors.New(h.Error)
	}
	return nil
}

// probe writes probeSize bytes to a new file in dir, syncs and removes it.
func probe(dir string) error {
	f, err := os.CreateTemp(dir, ".write-probe-*")
	if err != nil {
		return fmt.Errorf("probe the store: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(make([]byte, probeSize))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("probe the store: %w", err)
	}
	return nil
}

// restartJetStream stops JetStream and starts it again with the configuration the server
// started it with (server.Start does the same from its options), loading every stream and
// consumer from disk.
func restartJetStream(srv *server.Server, opts *server.Options) error {
	if err := srv.ShutdownJetStream(); err != nil {
		return fmt.Errorf("stop JetStream: %w", err)
	}
	err := srv.EnableJetStream(&server.JetStreamConfig{
		StoreDir:     opts.StoreDir,
		SyncInterval: opts.SyncInterval,
		SyncAlways:   opts.SyncAlways,
		Strict:       !opts.NoJetStreamStrict,
		MaxMemory:    opts.JetStreamMaxMemory,
		MaxStore:     opts.JetStreamMaxStore,
		Domain:       opts.JetStreamDomain,
		CompressOK:   true,
		UniqueTag:    opts.JetStreamUniqueTag,
	})
	if err != nil {
		return fmt.Errorf("start JetStream: %w", err)
	}
	return nil
}

// storeWriteFault reports whether a line of the server's log is about its store refusing a
// write. The watch tells an outage once; the server says it once per stream and once per message.
func storeWriteFault(line string) bool {
	l := strings.ToLower(line)
	for _, s := range []string{"critical write error", "failed to store a msg", "no space left on device",
		"read-only file system", "jetstream out of"} {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}
