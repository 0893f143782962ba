package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/webhookd/webhookd/webhook"
)

// receiverCommand is the hidden subcommand that runs the receiver in its own process.
const receiverCommand = "receiver"

// secretEnv passes the definition's secret to the receiver without putting it on a command line.
const secretEnv = "WEBHOOKBENCH_SECRET"

// Paths of the receiver. Deliveries and the baseline's requests are read and answered alike;
// only deliveries are recorded, since only they carry an event id. The isolation phase's other
// two definitions point at failingPath, answered 503 at once, and hangingPath, never answered:
// the request is held until webhookd gives up on it (its timeout) or the receiver stops. Their
// attempts are only counted (/bench/attempts).
const (
	hookPath     = "/hooks/webhookd"
	baselinePath = "/hooks/baseline"
	failingPath  = "/hooks/fail503"
	hangingPath  = "/hooks/hang"
)

// maxHang bounds how long the receiver holds a request on hangingPath, should its client never
// give up.
const maxHang = 10 * time.Minute

// maxReceiverBody bounds what the receiver reads of one request; the benchmark's are far smaller.
const maxReceiverBody = 1 << 20

// maxRecords bounds how many distinct event ids the receiver remembers; later ones are counted
// as overflow.
const maxRecords = 2_000_000

// receiverMain runs the receiver: it prints "listening <addr>" on standard output, serves until
// its standard input closes (the benchmark exited), SIGINT or SIGTERM, or -max-lifetime.
func receiverMain(args []string) int {
	fs := flag.NewFlagSet("webhookbench receiver", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback only)")
	verify := fs.Int("verify", 1000, "deliveries per phase kept to verify their signature on request")
	lifetime := fs.Duration("max-lifetime", time.Hour, "exit after this long whatever happens")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := serveReceiver(*addr, os.Getenv(secretEnv), *verify, *lifetime, os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "webhookbench receiver:", err)
		return 1
	}
	return 0
}

func serveReceiver(addr, secret string, verify int, lifetime time.Duration, stdin io.Reader, stdout io.Writer) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %q: the receiver listens on a loopback address only", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, lifetime)
	defer cancel()
	go func() { // the benchmark holds our stdin open while it runs
		_, _ = io.Copy(io.Discard, stdin)
		cancel()
	}()
	rec := newRecorder(secret, verify)
	srv := &http.Server{
		Handler:           rec,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	srv.RegisterOnShutdown(rec.close) // held requests end, so Shutdown need not wait for them
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if _, err := fmt.Fprintf(stdout, "listening %s\n", ln.Addr()); err != nil {
		return fmt.Errorf("announce the address: %w", err)
	}
	select {
	case err := <-served:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	}
	return nil
}

// recorder answers 200 at once and records the first arrival of each event id, by phase (an
// event id is "wb-<phase>-<n>"). Signatures are checked only when asked, after the run.
type recorder struct {
	secret  string
	verifyN int

	baseline atomic.Int64
	failing  atomic.Int64 // requests answered 503 on failingPath
	hanging  atomic.Int64 // requests held on hangingPath
	stopping chan struct{}
	stopOnce sync.Once

	mu       sync.Mutex
	seen     map[string]struct{}
	phases   map[string]*phaseRecord
	overflow int64
}

type phaseRecord struct {
	ids        []string
	at         []int64 // arrival, Unix nanoseconds
	duplicates int64
	bytes      int64
	samples    []sample
}

// sample is a delivery kept to verify its signature later.
type sample struct {
	at     time.Time
	header http.Header
	body   []byte
}

func newRecorder(secret string, verifyN int) *recorder {
	return &recorder{secret: secret, verifyN: verifyN, seen: map[string]struct{}{}, phases: map[string]*phaseRecord{},
		stopping: make(chan struct{})}
}

// close ends every request held on hangingPath.
func (r *recorder) close() { r.stopOnce.Do(func() { close(r.stopping) }) }

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch req.URL.Path {
	case hookPath:
		r.delivery(w, req)
	case baselinePath:
		if _, err := io.Copy(io.Discard, io.LimitReader(req.Body, maxReceiverBody)); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.baseline.Add(1)
		w.WriteHeader(http.StatusOK)
	case failingPath:
		_, _ = io.Copy(io.Discard, io.LimitReader(req.Body, maxReceiverBody))
		r.failing.Add(1)
		http.Error(w, "webhookbench: failing on purpose", http.StatusServiceUnavailable)
	case hangingPath:
		_, _ = io.Copy(io.Discard, io.LimitReader(req.Body, maxReceiverBody))
		r.hanging.Add(1)
		r.hang(req.Context())
		w.WriteHeader(http.StatusOK) // too late for webhookd, which has given up
	case "/bench/phase":
		r.serveJSON(w, r.phaseCounts(req.URL.Query().Get("name")))
	case "/bench/arrivals":
		r.serveJSON(w, r.arrivals(req.URL.Query().Get("name")))
	case "/bench/verify":
		r.serveJSON(w, r.verify(req.URL.Query().Get("name")))
	case "/bench/baseline":
		r.serveJSON(w, baselineCount{Received: r.baseline.Load()})
	case "/bench/attempts":
		r.serveJSON(w, attemptCounts{Failing: r.failing.Load(), Hanging: r.hanging.Load()})
	default:
		http.NotFound(w, req)
	}
}

func (r *recorder) delivery(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, maxReceiverBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	at := time.Now()
	id := eventID(body)
	phase := phaseOf(id)
	r.mu.Lock()
	p := r.phases[phase]
	if p == nil {
		p = &phaseRecord{}
		r.phases[phase] = p
	}
	p.bytes += int64(len(body))
	if _, dup := r.seen[id]; dup {
		p.duplicates++
	} else if len(r.seen) >= maxRecords {
		r.overflow++
	} else {
		r.seen[id] = struct{}{}
		p.ids = append(p.ids, id)
		p.at = append(p.at, at.UnixNano())
		if len(p.samples) < r.verifyN {
			p.samples = append(p.samples, sample{at: at, header: req.Header.Clone(), body: body})
		}
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// hang holds a request until its client gives up, the receiver stops, or maxHang.
func (r *recorder) hang(ctx context.Context) {
	t := time.NewTimer(maxHang)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-r.stopping:
	case <-t.C:
	}
}

var eventIDKey = []byte(`"event_id":"`)

// eventID finds data.event_id in a compact webhook body without decoding it (the benchmark's
// ids need no escaping); "" when it is not there.
func eventID(body []byte) string {
	i := bytes.Index(body, eventIDKey)
	if i < 0 {
		return ""
	}
	rest := body[i+len(eventIDKey):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// eventIDFor names event n of a phase; phaseOf undoes it.
func eventIDFor(phase string, n int) string { return fmt.Sprintf("wb-%s-%07d", phase, n) }

// phaseOf is the phase of an event id made by eventIDFor ("" for any other id).
func phaseOf(id string) string {
	rest, ok := strings.CutPrefix(id, "wb-")
	i := strings.LastIndexByte(rest, '-')
	if !ok || i < 0 {
		return ""
	}
	return rest[:i]
}

// phaseCounts is the reply of /bench/phase.
type phaseCounts struct {
	Received   int64 `json:"received"` // distinct event ids
	Duplicates int64 `json:"duplicates"`
	Bytes      int64 `json:"bytes"` // of every delivery, duplicates included
	Overflow   int64 `json:"overflow"`
}

func (r *recorder) phaseCounts(phase string) phaseCounts {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := phaseCounts{Overflow: r.overflow}
	if p := r.phases[phase]; p != nil {
		c.Received, c.Duplicates, c.Bytes = int64(len(p.ids)), p.duplicates, p.bytes
	}
	return c
}

// arrivalList is the reply of /bench/arrivals: the first arrival of each event id of a phase.
type arrivalList struct {
	IDs      []string `json:"ids"`
	UnixNano []int64  `json:"unix_nano"`
}

func (r *recorder) arrivals(phase string) arrivalList {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.phases[phase]
	if p == nil {
		return arrivalList{IDs: []string{}, UnixNano: []int64{}}
	}
	return arrivalList{IDs: slices.Clone(p.ids), UnixNano: slices.Clone(p.at)}
}

// verification is the reply of /bench/verify.
type verification struct {
	Checked    int    `json:"checked"`
	Failed     int    `json:"failed"`
	FirstError string `json:"first_error,omitempty"`
}

// verify checks the signatures of a phase's samples against the secret, at their arrival time.
func (r *recorder) verify(phase string) verification {
	r.mu.Lock()
	var samples []sample
	if p := r.phases[phase]; p != nil {
		samples = p.samples
	}
	r.mu.Unlock()
	var v verification
	for _, s := range samples {
		v.Checked++
		if err := webhook.Verify(r.secret, s.header, s.body, s.at, 0); err != nil {
			v.Failed++
			if v.FirstError == "" {
				v.FirstError = err.Error()
			}
		}
	}
	return v
}

// attemptCounts is the reply of /bench/attempts: requests on failingPath and hangingPath so far.
type attemptCounts struct {
	Failing int64 `json:"failing"`
	Hanging int64 `json:"hanging"`
}

// baselineCount is the reply of /bench/baseline.
type baselineCount struct {
	Received int64 `json:"received"`
}

func (r *recorder) serveJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}
