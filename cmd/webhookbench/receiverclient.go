package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// receiverProc is the receiver process as the benchmark sees it.
type receiverProc struct {
	*child
	baseURL string
	stdin   io.WriteCloser // closing it stops the receiver
	http    *http.Client
}

// startReceiver re-executes this binary as the receiver and waits for the address it listens on.
func startReceiver(ctx context.Context, self, dir, secret string, verify int, lifetime time.Duration) (*receiverProc, error) {
	stdinR, stdinW, err := pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := pipe()
	if err != nil {
		return nil, err
	}
	args := []string{receiverCommand, "-addr", "127.0.0.1:0", "-verify", strconv.Itoa(verify), "-max-lifetime", lifetime.String()}
	c, err := startChild("receiver", self, args, childEnv(secretEnv+"="+secret),
		filepath.Join(dir, "receiver.log"), stdinR, outW, syscall.SIGKILL)
	stdinR.Close()
	outW.Close()
	if err != nil {
		stdinW.Close()
		outR.Close()
		return nil, err
	}
	r := &receiverProc{child: c, stdin: stdinW, http: &http.Client{Timeout: 30 * time.Second}}
	addr := make(chan string, 1)
	go func() {
		defer outR.Close()
		sc := bufio.NewScanner(outR)
		if sc.Scan() {
			addr <- strings.TrimPrefix(sc.Text(), "listening ")
		}
		close(addr)
		_, _ = io.Copy(io.Discard, outR)
	}()
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case a, ok := <-addr:
		if ok {
			r.baseURL = "http://" + a
			return r, nil
		}
		r.close()
		return nil, fmt.Errorf("receiver said nothing: %w", c.exited())
	case <-t.C:
		r.close()
		return nil, fmt.Errorf("receiver did not announce its address within 30s")
	case <-ctx.Done():
		r.close()
		return nil, fmt.Errorf("start receiver: %w", ctx.Err())
	}
}

// close stops the receiver: its stdin closes, then SIGTERM and SIGKILL if it lingers.
func (r *receiverProc) close() error {
	r.http.CloseIdleConnections()
	r.stdin.Close()
	return r.stop(5 * time.Second)
}

func (r *receiverProc) hookURL() string     { return r.baseURL + hookPath }
func (r *receiverProc) failingURL() string  { return r.baseURL + failingPath }
func (r *receiverProc) hangingURL() string  { return r.baseURL + hangingPath }
func (r *receiverProc) baselineURL() string { return r.baseURL + baselinePath }

func (r *receiverProc) phase(ctx context.Context, phase string) (phaseCounts, error) {
	var c phaseCounts
	return c, r.get(ctx, "/bench/phase?name="+url.QueryEscape(phase), &c)
}

func (r *receiverProc) arrivals(ctx context.Context, phase string) (arrivalList, error) {
	var a arrivalList
	if err := r.get(ctx, "/bench/arrivals?name="+url.QueryEscape(phase), &a); err != nil {
		return a, err
	}
	if len(a.IDs) != len(a.UnixNano) {
		return a, fmt.Errorf("receiver arrivals of %s: %d ids, %d times", phase, len(a.IDs), len(a.UnixNano))
	}
	return a, nil
}

func (r *receiverProc) verify(ctx context.Context, phase string) (verification, error) {
	var v verification
	return v, r.get(ctx, "/bench/verify?name="+url.QueryEscape(phase), &v)
}

func (r *receiverProc) baselineReceived(ctx context.Context) (int64, error) {
	var b baselineCount
	return b.Received, r.get(ctx, "/bench/baseline", &b)
}

func (r *receiverProc) attempts(ctx context.Context) (attemptCounts, error) {
	var a attemptCounts
	return a, r.get(ctx, "/bench/attempts", &a)
}

func (r *receiverProc) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.baseURL+path, nil)
	if err != nil {
		return fmt.Errorf("receiver %s: %w", path, err)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return fmt.Errorf("receiver %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("receiver %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("receiver %s: decode: %w", path, err)
	}
	return nil
}
