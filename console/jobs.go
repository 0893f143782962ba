package console

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/webhookd/webhookd/control/controlapi"
)

// job is bulk work started from the console (a delete by filter, a resend of several requests):
// it runs in the background, so that its page can show its progress as the control plane
// reports it.
type job struct {
	ID      string
	User    string
	Command string // controlapi.CmdRequestsDelete or controlapi.CmdRequestsResend
	What    string // what it works on, for its page
	Back    string // the search it came from
	Started time.Time

	done, total atomic.Int64
	finished    chan struct{}
	// Set before finished is closed.
	result json.RawMessage
	err    *controlapi.Error
}

func (j *job) isFinished() bool {
	select {
	case <-j.finished:
		return true
	default:
		return false
	}
}

// jobs are the console's bulk work: at most maxRunningJobs at once, the last maxKeptJobs kept
// for their pages.
type jobs struct {
	mu     sync.Mutex
	byID   map[string]*job
	order  []string
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed bool
}

const (
	maxRunningJobs = 4
	maxKeptJobs    = 100
)

func newJobs() *jobs {
	ctx, cancel := context.WithCancel(context.Background())
	return &jobs{byID: map[string]*job{}, ctx: ctx, cancel: cancel}
}

// start runs command with body in the background; false when too many jobs run already or the
// console is stopping.
func (js *jobs) start(b Backend, j *job, body []byte) bool {
	js.mu.Lock()
	defer js.mu.Unlock()
	running := 0
	for _, o := range js.byID {
		if !o.isFinished() {
			running++
		}
	}
	if js.closed || running >= maxRunningJobs {
		return false
	}
	j.ID = rand.Text()[:16]
	j.finished = make(chan struct{})
	js.byID[j.ID] = j
	js.order = append(js.order, j.ID)
	for len(js.order) > maxKeptJobs {
		if old := js.byID[js.order[0]]; old != nil && !old.isFinished() {
			break
		}
		delete(js.byID, js.order[0])
		js.order = js.order[1:]
	}
	js.wg.Add(1)
	go func() {
		defer js.wg.Done()
		defer close(j.finished)
		res, err := b.Exec(js.ctx, j.Command, body, func(p controlapi.Progress) {
			j.done.Store(p.Done)
			j.total.Store(p.Total)
		})
		if err != nil {
			j.err = commandError(err)
			return
		}
		j.result = res
	}()
	return true
}

func (js *jobs) get(id string) *job {
	js.mu.Lock()
	defer js.mu.Unlock()
	return js.byID[id]
}

// stop takes no more jobs and waits for those running until ctx ends, then cancels them and
// waits for them to return (the control plane ends them at their next item).
func (js *jobs) stop(ctx context.Context) {
	js.mu.Lock()
	js.closed = true
	js.mu.Unlock()
	done := make(chan struct{})
	go func() { js.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		js.cancel()
		<-done
	}
	js.cancel()
}
