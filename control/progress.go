package control

import (
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/webhookd/webhookd/control/controlapi"
)

// progressKeepalive is the most time between progress messages even when nothing moved (a
// slow receiver), so a requester that times out on silence keeps waiting.
const progressKeepalive = 5 * time.Second

// tracker counts a bulk command's progress and, when the requester asked for it, publishes it
// to the reply subject: once at the start, then at most every ProgressInterval while it moves,
// and every progressKeepalive while it does not. stop must be called before the final reply,
// so that no progress message follows it.
type tracker struct {
	done, total atomic.Int64
	stopCh      chan struct{}
	wg          sync.WaitGroup
	stopOnce    sync.Once
}

func (r *Responder) track(c *call, want bool, total int64) *tracker {
	t := &tracker{stopCh: make(chan struct{})}
	t.total.Store(total)
	if !want {
		return t
	}
	send := func() {
		p := controlapi.Progress{Done: t.done.Load(), Total: t.total.Load()}
		if c.progress != nil {
			c.progress(p)
			return
		}
		b, _ := json.Marshal(controlapi.ProgressMessage{Progress: p})
		if err := r.nc.Publish(c.replyTo, b); err != nil {
			r.o.Log.Debug("send control progress", "command", c.cmd, "error", err)
		}
	}
	send()
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		tick := time.NewTicker(r.o.ProgressInterval)
		defer tick.Stop()
		last, lastAt := t.done.Load(), time.Now()
		for {
			select {
			case <-t.stopCh:
				return
			case now := <-tick.C:
				if d := t.done.Load(); d != last || now.Sub(lastAt) >= progressKeepalive {
					send()
					last, lastAt = d, now
				}
			}
		}
	}()
	return t
}

func (t *tracker) add(n int64) { t.done.Add(n) }

// setTotal corrects an estimate made at the start (requests arrive and go while work runs).
func (t *tracker) setTotal(n int64) { t.total.Store(n) }

func (t *tracker) stop() {
	t.stopOnce.Do(func() { close(t.stopCh) })
	t.wg.Wait()
}
