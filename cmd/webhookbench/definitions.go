package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Targets of the definitions phase (issue 11), for the reports.
const (
	targetReadySeconds   = 10
	targetIdleCPUPercent = 5
	targetRSSMiB         = 250
	targetSeenSeconds    = 2
)

// Bounds of the definitions phase's settings.
const (
	maxDefinitions     = 10_000 // the --config document stays well under webhookd's 4 MiB
	maxDefinitionRuns  = 10
	trickleDrain       = 30 * time.Second
	probeEvery         = 10 * time.Millisecond
	probeFor           = 30 * time.Second
	definitionsLogTail = 15
)

// DefinitionsSettings are the definitions phase's settings.
type DefinitionsSettings struct {
	Counts          []int         // one fresh webhookd per count
	ReadyTimeout    time.Duration // how long to wait for /readyz
	IdleDuration    time.Duration // the idle window
	TrickleRate     float64       // events per second of the trickle
	TrickleDuration time.Duration // how long the trickle is published
}

// DefinitionsRun is what one fresh webhookd with N active definitions, a rule each, measured.
type DefinitionsRun struct {
	Definitions int `json:"definitions"`
	// ReadySeconds runs from the process's start to the first 200 of /readyz (polled every 50 ms).
	ReadySeconds    float64 `json:"ready_seconds"`
	StartCPUSeconds float64 `json:"start_cpu_seconds"` // webhookd's CPU until ready
	// The idle window starts when webhookd is ready: no event is published during it.
	IdleSeconds    float64 `json:"idle_seconds"`
	IdleCPUPercent float64 `json:"idle_cpu_percent"`  // of one core
	IdleOtherCores float64 `json:"idle_other_cores"`  // every other process on the machine meanwhile
	RSSMiB         float64 `json:"rss_mib"`           // VmRSS at the end of the idle window
	IdlePeakRSSMiB float64 `json:"idle_peak_rss_mib"` // VmHWM then (since start)
	// DeliveryConsumers is how many consumers the deliveries stream has once webhookd is ready:
	// one per definition with deliveries queued, so none when every receiver is healthy.
	DeliveryConsumers int `json:"delivery_consumers"`
	// Trickle is a steady trickle spread round-robin over the definitions' entities; nil when
	// not every event was delivered and stored within trickleDrain after the last publish.
	Trickle *Phase `json:"trickle,omitempty"`
	// TrickleEvents and TrickleReceived are the events published by the trickle and how many
	// of them the receiver got (the whole story when Trickle is nil).
	TrickleEvents   int            `json:"trickle_events"`
	TrickleReceived int64          `json:"trickle_received"`
	ConfigChanges   []ConfigChange `json:"config_changes,omitempty"`
	PeakRSSMiB      float64        `json:"peak_rss_mib"` // VmHWM at the end, since start
	StopSeconds     float64        `json:"stop_seconds"` // SIGTERM to exit
	// Problems are what went wrong without ending the run (a trickle not delivered in full, a
	// config change never seen); Error is what ended it early (not ready in time, say).
	Problems []string `json:"problems,omitempty"`
	Error    string   `json:"error,omitempty"`
	// LogWarnings counts webhookd's WARN and ERROR log lines by message.
	LogWarnings []logCount `json:"log_warnings,omitempty"`
	// LogTail is the last lines of webhookd's log, when Error is set.
	LogTail []string `json:"log_tail,omitempty"`
}

// ConfigChange is one configuration change applied through the control plane, and how soon an
// event was delivered under it.
type ConfigChange struct {
	Change  string  `json:"change"`
	ApplyMS float64 `json:"apply_ms"` // config.apply request to its reply
	// SeenMS runs from the reply to the first delivery of a probe event that only the new
	// configuration delivers; probes are published every 10 ms from the reply on. -1: not seen
	// within probeFor (30 s).
	SeenMS float64 `json:"seen_ms"`
	Probes int     `json:"probes"` // probe events published until then
}

// Names of the definitions phase's configuration.
func manyDefinitionID(i int) string { return fmt.Sprintf("bench-%d", i) }
func manyEntity(i int) string       { return fmt.Sprintf("bench_%d", i) }

// definitionsYAML is n definitions at default settings, all pointing at hookURL with secret,
// and one rule for each: rule bench-rule-<i> sends events of entity bench_<i> to bench-<i>.
func definitionsYAML(n int, hookURL, secret string) string {
	var sb strings.Builder
	sb.Grow(n * 300)
	sb.WriteString("webhook_definitions:\n")
	for i := range n {
		fmt.Fprintf(&sb, "  - id: %s\n    name: webhookbench receiver %d\n    url: %s\n    secret_key: %s\n",
			manyDefinitionID(i), i, hookURL, secret)
	}
	sb.WriteString("workflow_rules:\n")
	for i := range n {
		fmt.Fprintf(&sb, "  - id: bench-rule-%d\n    name: webhookbench entity %d\n    entity: %s\n    webhook_definitions: [%s]\n",
			i, i, manyEntity(i), manyDefinitionID(i))
	}
	return sb.String()
}

// probeChanges are the configuration changes measured, in order: a rule for a new entity that
// sends to a definition already running (definition number existing), then a new definition (a new delivery consumer) with a
// rule for another new entity.
func probeChanges(hookURL, secret string, existing int) []struct {
	name   string
	entity string
	doc    document
} {
	return []struct {
		name   string
		entity string
		doc    document
	}{
		{"new rule, existing definition", "bench_probe_rule", document{Rules: []docRule{
			{ID: "bench-probe-rule", Name: "webhookbench probe (rule)", Entity: "bench_probe_rule", WebhookDefinitions: []string{manyDefinitionID(existing)}},
		}}},
		{"new definition and rule", "bench_probe_definition", document{
			Definitions: []docDefinition{{ID: "bench-probe", Name: "webhookbench probe", URL: hookURL, SecretKey: secret}},
			Rules: []docRule{
				{ID: "bench-probe-definition", Name: "webhookbench probe (definition)", Entity: "bench_probe_definition", WebhookDefinitions: []string{"bench-probe"}},
			},
		}},
	}
}

// runDefinitions starts a fresh webhookd with n definitions and measures it. A failure of this
// count (webhookd not ready in time, say) is recorded in the result with webhookd's last log
// lines, not returned: the error is only for the end of the whole run (ctx).
func runDefinitions(ctx context.Context, s DefinitionsSettings, n int, bin, dir string, rc *receiverProc, secret string, bodyBytes int, progress io.Writer) (DefinitionsRun, error) {
	say := func(format string, a ...any) { fmt.Fprintf(progress, "webhookbench: "+format+"\n", a...) }
	r := DefinitionsRun{Definitions: n}
	sub := filepath.Join(dir, fmt.Sprintf("definitions-%d", n))
	if err := os.Mkdir(sub, 0o700); err != nil {
		return r, fmt.Errorf("definitions %d: %w", n, err)
	}
	wd, err := startWebhookd(ctx, bin, sub, definitionsYAML(n, rc.hookURL(), secret))
	if err != nil {
		return r, err
	}
	say("definitions %d: webhookd (pid %d) starting", n, wd.pid())
	err = measureDefinitions(ctx, s, &r, wd, rc, sub, secret, bodyBytes, progress, say)
	stopStart := time.Now()
	stopErr := wd.shutdown(30 * time.Second)
	r.StopSeconds = time.Since(stopStart).Seconds()
	if err == nil && stopErr != nil {
		err = stopErr
	}
	if err != nil && ctx.Err() != nil {
		return r, err
	}
	if err != nil {
		r.Error = err.Error()
		r.LogTail = strings.Split(tail(wd.logPath, definitionsLogTail), "\n")
		say("definitions %d: %v", n, err)
	}
	if r.LogWarnings, err = summarizeLog(wd.logPath); err != nil {
		r.Problems = append(r.Problems, err.Error())
	}
	return r, nil
}

func measureDefinitions(ctx context.Context, s DefinitionsSettings, r *DefinitionsRun, wd *webhookd, rc *receiverProc, dir, secret string, bodyBytes int, progress io.Writer, say func(string, ...any)) error {
	if err := wd.waitReady(ctx, s.ReadyTimeout); err != nil {
		return err
	}
	r.ReadySeconds = time.Since(wd.started).Seconds()
	say("definitions %d: ready in %.2f s", r.Definitions, r.ReadySeconds)
	nc, err := nats.Connect(wd.natsURL, nats.Name("webhookbench"))
	if err != nil {
		return fmt.Errorf("connect to webhookd's NATS at %s: %w", wd.natsURL, err)
	}
	defer nc.Close()
	pub, err := newPublisher(nc)
	if err != nil {
		return err
	}
	b := &bench{wd: wd, rc: rc, nc: nc, pub: pub, dir: dir, progress: progress}
	if r.DeliveryConsumers, err = deliveryConsumers(ctx, nc); err != nil {
		return err
	}

	u0, err := b.usage()
	if err != nil {
		return err
	}
	r.StartCPUSeconds = u0.procs[0].CPU.Seconds()
	idleStart := time.Now()
	if err := b.wait(ctx, s.IdleDuration); err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	u1, err := b.usage()
	if err != nil {
		return err
	}
	idle := time.Since(idleStart)
	r.IdleSeconds = idle.Seconds()
	use := make([]ProcessUse, 3)
	for i := range use {
		use[i] = processUse(u0.procs[i], u1.procs[i], idle, 1)
	}
	r.IdleCPUPercent = 100 * use[0].CPUCores
	r.IdleOtherCores = max((u1.machine-u0.machine).Seconds()/idle.Seconds()-use[0].CPUCores-use[1].CPUCores-use[2].CPUCores, 0)
	r.RSSMiB = float64(u1.procs[0].RSS) / (1 << 20)
	r.IdlePeakRSSMiB = float64(u1.procs[0].PeakRSS) / (1 << 20)
	say("definitions %d: idle %.1f%% of a core, RSS %.0f MiB", r.Definitions, r.IdleCPUPercent, r.RSSMiB)

	name := fmt.Sprintf("definitions%d-trickle", r.Definitions)
	events := min(max(int(s.TrickleRate*s.TrickleDuration.Seconds()), 1), maxEvents)
	msgs, err := makeEntityMessages(name, events, bodyBytes, func(i int) string { return manyEntity(i % r.Definitions) })
	if err != nil {
		return err
	}
	r.TrickleEvents = len(msgs)
	tctx, cancel := context.WithTimeout(ctx, s.TrickleDuration+trickleDrain)
	p, err := b.runPhase(tctx, name, msgs, s.TrickleRate)
	cancel()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	got, cerr := rc.phase(ctx, name)
	if cerr != nil {
		return cerr
	}
	r.TrickleReceived = got.Received
	if err != nil {
		why := ""
		if !errors.Is(err, context.DeadlineExceeded) {
			why = ": " + err.Error() // not merely out of time
		}
		r.Problems = append(r.Problems, fmt.Sprintf("trickle: %d of %d events received within %s of the last publish%s",
			got.Received, len(msgs), trickleDrain, why))
		say("definitions %d: trickle: %d of %d events received", r.Definitions, got.Received, len(msgs))
	} else {
		p.Load = fmt.Sprintf("%g", s.TrickleRate)
		r.Trickle = &p
		say("definitions %d: trickle %.0f/s, p50 %.1f ms, p99 %.1f ms", r.Definitions, s.TrickleRate, p.Receipt.P50, p.Receipt.P99)
	}
	// The new rule sends to a definition the trickle reached, so that it measures the change,
	// not a definition that could not deliver anyway.
	existing := 0
	if arr, err := rc.arrivals(ctx, name); err != nil {
		return err
	} else if len(arr.IDs) > 0 {
		if i, ok := eventNumber(arr.IDs[0]); ok {
			existing = i % r.Definitions
		}
	}

	for k, c := range probeChanges(rc.hookURL(), secret, existing) {
		cc, err := b.configChange(ctx, fmt.Sprintf("definitions%d-probe%d", r.Definitions, k+1), c.name, c.entity, c.doc, bodyBytes)
		if err != nil {
			return err
		}
		r.ConfigChanges = append(r.ConfigChanges, cc)
		if cc.SeenMS < 0 {
			r.Problems = append(r.Problems, fmt.Sprintf("%s: no probe delivered within %s of the reply", c.name, probeFor))
		}
		say("definitions %d: %s: applied in %.0f ms, seen %.0f ms after the reply", r.Definitions, c.name, cc.ApplyMS, cc.SeenMS)
	}
	end, err := readProcStats(wd.pid())
	if err != nil {
		return err
	}
	r.PeakRSSMiB = float64(end.PeakRSS) / (1 << 20)
	return nil
}

// configChange applies doc, then publishes a probe event of entity every probeEvery until the
// receiver has one: only doc makes webhookd deliver events of entity.
func (b *bench) configChange(ctx context.Context, phase, change, entity string, doc document, bodyBytes int) (ConfigChange, error) {
	cc := ConfigChange{Change: change, SeenMS: -1}
	msgs, err := makeEntityMessages(phase, int(probeFor/probeEvery), bodyBytes, func(int) string { return entity })
	if err != nil {
		return cc, err
	}
	sent := time.Now()
	if err := applyConfig(ctx, b.nc, doc); err != nil {
		return cc, err
	}
	replied := time.Now()
	cc.ApplyMS = msSince(sent, replied)

	deadline := time.NewTimer(probeFor)
	defer deadline.Stop()
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	var futs []pending
probing:
	for cc.Probes < len(msgs) {
		f, err := b.pub.publish(ctx, msgs[cc.Probes])
		if err != nil {
			return cc, err
		}
		futs = append(futs, f)
		cc.Probes++
		got, err := b.rc.phase(ctx, phase)
		if err != nil {
			return cc, err
		}
		if got.Received > 0 {
			break
		}
		select {
		case <-ctx.Done():
			return cc, ctx.Err()
		case <-b.wd.done:
			return cc, b.wd.exited()
		case <-deadline.C:
			break probing
		case <-t.C:
		}
	}
	if err := b.pub.settle(ctx, futs); err != nil {
		return cc, err
	}
	arr, err := b.rc.arrivals(ctx, phase)
	if err != nil {
		return cc, err
	}
	if len(arr.UnixNano) > 0 {
		first := arr.UnixNano[0]
		for _, at := range arr.UnixNano {
			first = min(first, at)
		}
		cc.SeenMS = msSince(replied, time.Unix(0, first))
	}
	return cc, nil
}

// wait waits for d unless webhookd exits or ctx ends first.
func (b *bench) wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-b.wd.done:
		return b.wd.exited()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func msSince(from, to time.Time) float64 { return float64(to.Sub(from)) / float64(time.Millisecond) }

// deliveriesStream is webhookd's work queue of deliveries, one consumer per definition
// (docs/design.md, streams and consumers).
const deliveriesStream = "WEBHOOKD_DELIVERIES"

// deliveryConsumers is how many consumers the deliveries stream has.
func deliveryConsumers(ctx context.Context, nc *nats.Conn) (int, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, fmt.Errorf("jetstream: %w", err)
	}
	ictx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	st, err := js.Stream(ictx, deliveriesStream)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", deliveriesStream, err)
	}
	info, err := st.Info(ictx)
	if err != nil {
		return 0, fmt.Errorf("stream %s info: %w", deliveriesStream, err)
	}
	return info.State.Consumers, nil
}

// eventNumber is n of an event id made by eventIDFor.
func eventNumber(id string) (int, bool) {
	i := strings.LastIndexByte(id, '-')
	if i < 0 || phaseOf(id) == "" {
		return 0, false
	}
	n, err := strconv.Atoi(id[i+1:])
	return n, err == nil
}

// logCount is how many of webhookd's log lines had one level and message, and the first of them.
type logCount struct {
	Level   string `json:"level"`
	Msg     string `json:"msg"`
	Count   int    `json:"count"`
	Example string `json:"example"` // the first such line, cut at maxExample bytes
}

const maxExample = 400

// summarizeLog counts the WARN and ERROR lines of webhookd's JSON log at path by message, in
// the order first seen.
func summarizeLog(path string) ([]logCount, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read webhookd's log: %w", err)
	}
	defer f.Close()
	return countWarnings(f)
}

func countWarnings(r io.Reader) ([]logCount, error) {
	var counts []logCount
	index := map[[2]string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var line struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || (line.Level != "WARN" && line.Level != "ERROR") {
			continue // not JSON (a panic's trace, say) or not a warning
		}
		if strings.HasPrefix(line.Msg, "--allow-private-networks is on") {
			continue // the benchmark asks for it: the receiver is on loopback
		}
		k := [2]string{line.Level, line.Msg}
		if i, ok := index[k]; ok {
			counts[i].Count++
			continue
		}
		ex := sc.Text()
		if len(ex) > maxExample {
			ex = ex[:maxExample] + "…"
		}
		index[k] = len(counts)
		counts = append(counts, logCount{Level: line.Level, Msg: line.Msg, Count: 1, Example: ex})
	}
	if err := sc.Err(); err != nil {
		return counts, fmt.Errorf("read webhookd's log: %w", err)
	}
	return counts, nil
}
