package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
)

// Phase is one measured run of events through webhookd: the burst, or one offered load.
type Phase struct {
	Name          string  `json:"name"`
	Load          string  `json:"load,omitempty"`            // as asked: "1000" or "50%"; empty for the burst
	OfferedPerSec float64 `json:"offered_per_sec,omitempty"` // 0 for the burst
	Events        int     `json:"events"`

	PublishSeconds float64 `json:"publish_seconds"` // until every publish was acknowledged
	Seconds        float64 `json:"seconds"`         // from the first publish until every delivery was received and stored
	EventsPerSec   float64 `json:"events_per_sec"`

	Receipt Latency `json:"publish_to_receipt"`
	Stored  Latency `json:"publish_to_stored"` // to the stored request's log.created_at

	// MaxGapMS is the longest time the receiver got nothing of this phase between its first and
	// last delivery: a stall shows here even when the percentiles hide it.
	MaxGapMS            float64      `json:"max_gap_ms"`
	DeliveredBodyBytes  int64        `json:"delivered_body_bytes"` // mean webhook body
	DuplicateDeliveries int64        `json:"duplicate_deliveries"` // at least once: a receiver may see one twice
	DuplicateRequests   int          `json:"duplicate_requests"`   // stored twice for one delivery: must be 0
	RejectedRequests    int          `json:"rejected_requests"`
	Signatures          verification `json:"signatures"`
	Webhookd            ProcessUse   `json:"webhookd"`
	// The receiver and the benchmark itself share the machine with webhookd: their CPU says how
	// much of it was left.
	Receiver  ProcessUse `json:"receiver"`
	Publisher ProcessUse `json:"webhookbench"`
	// OtherCores is what every other process on the machine used meanwhile: the other engineers'
	// work on a shared machine. Well above zero, the figures are noisy.
	OtherCores float64 `json:"other_cores"`
}

// ProcessUse is what webhookd used during a phase.
type ProcessUse struct {
	CPUSeconds  float64 `json:"cpu_seconds"`
	CPUCores    float64 `json:"cpu_cores"`        // CPU seconds per second of the phase
	CPUPerEvent float64 `json:"cpu_ms_per_event"` // CPU milliseconds per event: what a busy machine changes least
	PeakRSSMiB  float64 `json:"peak_rss_mib"`     // VmHWM since webhookd started
}

// bench is the running setup that phases share.
type bench struct {
	wd       *webhookd
	rc       *receiverProc
	nc       *nats.Conn
	pub      *publisher
	dir      string // the run's temporary directory
	progress io.Writer
	// definition is the definition whose stored requests a phase waits for; empty: any.
	definition string
	// loggedState is the state of the logged requests a phase counts; empty: every state.
	loggedState string
}

// phaseTimeout bounds one phase: publishing at rate (0: a burst) and draining at no less than
// 100 events/s, plus two minutes.
func phaseTimeout(n int, rate float64) time.Duration {
	d := 2*time.Minute + time.Duration(n)*time.Second/100
	if rate > 0 {
		d += time.Duration(float64(n) / rate * float64(time.Second))
	}
	return d
}

// runPhase publishes msgs (at rate per second, or as a burst when rate is 0), waits until every
// one is delivered and stored, and measures it.
func (b *bench) runPhase(ctx context.Context, name string, msgs []*message, rate float64) (Phase, error) {
	return b.runMixedPhase(ctx, name, msgs, msgs, rate)
}

// runMixedPhase is runPhase publishing published, which holds msgs and events of other phases:
// only msgs are waited for and measured.
func (b *bench) runMixedPhase(ctx context.Context, name string, msgs, published []*message, rate float64) (Phase, error) {
	n := len(msgs)
	ctx, cancel := context.WithTimeout(ctx, phaseTimeout(len(published), rate))
	defer cancel()
	p := Phase{Name: name, OfferedPerSec: rate, Events: n}
	logged0, err := b.wd.requestsLogged(ctx, b.loggedState)
	if err != nil {
		return p, err
	}
	use0, err := b.usage()
	if err != nil {
		return p, err
	}

	start := time.Now()
	if rate > 0 {
		err = b.pub.publishPaced(ctx, published, rate)
	} else {
		err = b.pub.publishBurst(ctx, published)
	}
	if err != nil {
		return p, fmt.Errorf("%s: %w", name, err)
	}
	p.PublishSeconds = time.Since(start).Seconds()

	done, err := b.waitDelivered(ctx, name, n, logged0)
	if err != nil {
		return p, fmt.Errorf("%s: %w", name, err)
	}
	use1, err := b.usage()
	if err != nil {
		return p, err
	}
	stored, done, err := b.waitStored(ctx, name, n, start, done)
	if err != nil {
		return p, fmt.Errorf("%s: %w", name, err)
	}
	elapsed := done.Sub(start)
	p.Seconds = elapsed.Seconds()
	p.EventsPerSec = float64(n) / elapsed.Seconds()
	p.DuplicateRequests, p.RejectedRequests = stored.duplicates, stored.rejected
	p.Webhookd = processUse(use0.procs[0], use1.procs[0], elapsed, n)
	p.Receiver = processUse(use0.procs[1], use1.procs[1], elapsed, n)
	p.Publisher = processUse(use0.procs[2], use1.procs[2], elapsed, n)
	p.OtherCores = max((use1.machine-use0.machine).Seconds()/elapsed.Seconds()-p.Webhookd.CPUCores-p.Receiver.CPUCores-p.Publisher.CPUCores, 0)

	if err := b.wd.saveMetrics(ctx, filepath.Join(b.dir, "metrics-"+name+".txt")); err != nil {
		return p, err
	}
	arr, err := b.rc.arrivals(ctx, name)
	if err != nil {
		return p, err
	}
	counts, err := b.rc.phase(ctx, name)
	if err != nil {
		return p, err
	}
	if p.Signatures, err = b.rc.verify(ctx, name); err != nil {
		return p, err
	}
	if p.Signatures.Failed > 0 {
		return p, fmt.Errorf("%s: %d of %d signatures did not verify: %s", name, p.Signatures.Failed, p.Signatures.Checked, p.Signatures.FirstError)
	}
	p.DuplicateDeliveries = counts.Duplicates
	if delivered := counts.Received + counts.Duplicates; delivered > 0 {
		p.DeliveredBodyBytes = counts.Bytes / delivered
	}
	p.MaxGapMS = float64(maxGap(arr.UnixNano)) / float64(time.Millisecond)
	p.Receipt, p.Stored, err = latencies(msgs, arr, stored)
	if err != nil {
		return p, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

// usage is a reading of the machine's busy time and of the benchmark's three processes: webhookd,
// the receiver and this one.
type usage struct {
	machine time.Duration
	procs   [3]procStats
}

func (b *bench) usage() (usage, error) {
	var u usage
	var err error
	if u.machine, err = machineBusy(); err != nil {
		return u, err
	}
	for i, pid := range [3]int{b.wd.pid(), b.rc.pid(), os.Getpid()} {
		if u.procs[i], err = readProcStats(pid); err != nil {
			return u, err
		}
	}
	return u, nil
}

// processUse is what a process used for n events between two readings elapsed apart.
func processUse(before, after procStats, elapsed time.Duration, n int) ProcessUse {
	cpu := (after.CPU - before.CPU).Seconds()
	return ProcessUse{
		CPUSeconds:  cpu,
		CPUCores:    cpu / elapsed.Seconds(),
		CPUPerEvent: cpu * 1000 / float64(n),
		PeakRSSMiB:  float64(after.PeakRSS) / (1 << 20),
	}
}

// maxGap is the longest interval between consecutive arrivals (given in Unix nanoseconds, in
// any order).
func maxGap(arrivals []int64) time.Duration {
	sorted := slices.Clone(arrivals)
	slices.Sort(sorted)
	var gap int64
	for i := 1; i < len(sorted); i++ {
		gap = max(gap, sorted[i]-sorted[i-1])
	}
	return time.Duration(gap)
}

// latencies are, for every event, its receipt and its stored request's log.created_at less its
// publish time.
func latencies(msgs []*message, arr arrivalList, stored storedSet) (receipt, toStore Latency, err error) {
	published := make(map[string]time.Time, len(msgs))
	for _, m := range msgs {
		published[m.id] = m.publishedAt
	}
	rs := make([]time.Duration, 0, len(arr.IDs))
	for i, id := range arr.IDs {
		at, ok := published[id]
		if !ok {
			return receipt, toStore, fmt.Errorf("the receiver got event %s, which was not published", id)
		}
		rs = append(rs, max(time.Unix(0, arr.UnixNano[i]).Sub(at), 0))
	}
	ss := make([]time.Duration, 0, len(stored.createdAt))
	for id, created := range stored.createdAt {
		at, ok := published[id]
		if !ok {
			return receipt, toStore, fmt.Errorf("a request was stored for event %s, which was not published", id)
		}
		ss = append(ss, max(created.Sub(at), 0)) // created_at has millisecond precision
	}
	return summarize(rs), summarize(ss), nil
}

// waitDelivered polls until the receiver has every event of the phase and webhookd counts as
// many more webhook requests logged, and returns when it saw that.
func (b *bench) waitDelivered(ctx context.Context, phase string, n int, logged0 float64) (time.Time, error) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	var got phaseCounts
	var logged float64
	for {
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("waiting for %d deliveries: %d received, %.0f logged: %w", n, got.Received, logged-logged0, ctx.Err())
		case <-b.wd.done:
			return time.Time{}, b.wd.exited()
		case <-t.C:
		}
		var err error
		if got, err = b.rc.phase(ctx, phase); err != nil {
			return time.Time{}, err
		}
		if got.Received < int64(n) {
			continue // the receiver is cheaper to ask than /metrics
		}
		if logged, err = b.wd.requestsLogged(ctx, b.loggedState); err != nil {
			return time.Time{}, err
		}
		if logged-logged0 >= float64(n) {
			return time.Now(), nil
		}
	}
}

// waitStored confirms through requests.list that the store holds a request for every event of
// the phase. The metric it follows counts a redelivered request again, so it can run ahead: then
// the listing is repeated, and done moves to when it holds.
func (b *bench) waitStored(ctx context.Context, phase string, n int, start, done time.Time) (storedSet, time.Time, error) {
	maxPages := 4*((n+pageLimit-1)/pageLimit) + 10
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for retried := false; ; retried = true {
		set, err := listStored(ctx, b.nc, b.definition, start.Add(-2*time.Second), phase, maxPages)
		if err != nil {
			return set, done, err
		}
		if len(set.createdAt) >= n {
			if retried {
				done = time.Now()
			}
			return set, done, nil
		}
		fmt.Fprintf(b.progress, "webhookbench: %s: %d of %d requests listed, waiting\n", phase, len(set.createdAt), n)
		select {
		case <-ctx.Done():
			return set, done, fmt.Errorf("waiting for %d stored requests: %d listed: %w", n, len(set.createdAt), ctx.Err())
		case <-t.C:
		}
	}
}
