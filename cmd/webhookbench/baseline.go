package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Baseline is the plain Go client's result against the same receiver.
type Baseline struct {
	Requests    int     `json:"requests"`
	Rounds      int     `json:"rounds"` // times every body was posted
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	ReqPerSec   float64 `json:"req_per_sec"`
	// CPU used meanwhile by the client (webhookbench), the receiver, and every other process.
	ClientCores   float64 `json:"client_cores"`
	ReceiverCores float64 `json:"receiver_cores"`
	OtherCores    float64 `json:"other_cores"`
}

// maxBaselineRounds bounds how often the baseline posts the bodies to fill its minimum duration.
const maxBaselineRounds = 100

// baseline runs the plain Go client: rounds of every body until minDuration has passed (at
// most maxBaselineRounds), so that a short burst of other work on the machine weighs no more on
// it than on webhookd's longer run, and reads the CPU used meanwhile.
func (b *bench) baseline(ctx context.Context, bodies [][]byte, concurrency int, minDuration time.Duration) (Baseline, error) {
	u0, err := b.usage()
	if err != nil {
		return Baseline{}, err
	}
	tr := &http.Transport{
		MaxIdleConns:        concurrency,
		MaxIdleConnsPerHost: concurrency,
		MaxConnsPerHost:     concurrency,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	start := time.Now()
	rounds := 0
	for rounds < maxBaselineRounds && (rounds == 0 || time.Since(start) < minDuration) {
		if err := postAll(ctx, client, b.rc.baselineURL(), bodies, concurrency); err != nil {
			return Baseline{}, err
		}
		rounds++
	}
	elapsed := time.Since(start)
	u1, err := b.usage()
	if err != nil {
		return Baseline{}, err
	}
	n := rounds * len(bodies)
	if got, err := b.rc.baselineReceived(ctx); err != nil {
		return Baseline{}, err
	} else if got != int64(n) {
		return Baseline{}, fmt.Errorf("baseline: the receiver counted %d of %d requests", got, n)
	}
	wd, rc, self := processUse(u0.procs[0], u1.procs[0], elapsed, n), processUse(u0.procs[1], u1.procs[1], elapsed, n), processUse(u0.procs[2], u1.procs[2], elapsed, n)
	return Baseline{
		Requests:      n,
		Rounds:        rounds,
		Concurrency:   concurrency,
		Seconds:       elapsed.Seconds(),
		ReqPerSec:     float64(n) / elapsed.Seconds(),
		ClientCores:   self.CPUCores,
		ReceiverCores: rc.CPUCores,
		OtherCores:    max((u1.machine-u0.machine).Seconds()/elapsed.Seconds()-wd.CPUCores-rc.CPUCores-self.CPUCores, 0),
	}, nil
}

// postAll posts every body once to url from concurrency goroutines sharing client's keep-alive
// connections. Any failed request fails it.
func postAll(ctx context.Context, client *http.Client, url string, bodies [][]byte, concurrency int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	for range concurrency {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) || ctx.Err() != nil {
					return
				}
				if err := post(ctx, client, url, bodies[i]); err != nil {
					fail(fmt.Errorf("baseline request %d: %w", i, err))
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	return nil
}

func post(ctx context.Context, client *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("read the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("answer %s", resp.Status)
	}
	return nil
}
