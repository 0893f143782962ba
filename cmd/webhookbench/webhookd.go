package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Names in the configuration the benchmark applies.
const (
	definitionID = "bench"
	ruleID       = "bench-customers"
	entity       = "customer"
	action       = "updated"
)

// webhookd is the running worker under test.
type webhookd struct {
	*child
	natsURL string
	httpURL string
	http    *http.Client
}

// configYAML is one definition at default settings (max_in_flight 32, logging all, default
// retries and timeout) and one rule that sends it every customer event.
func configYAML(hookURL, secret string) string {
	return fmt.Sprintf(`webhook_definitions:
  - id: %s
    name: webhookbench receiver
    url: %s
    secret_key: %s
workflow_rules:
  - id: %s
    name: webhookbench customers
    entity: %s
    webhook_definitions: [%s]
`, definitionID, hookURL, secret, ruleID, entity, definitionID)
}

// startWebhookd starts bin standalone with its defaults, a fresh data directory under dir,
// free loopback ports and config as its --config file.
func startWebhookd(ctx context.Context, bin, dir, config string) (*webhookd, error) {
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		return nil, fmt.Errorf("write webhookd config %s: %w", cfg, err)
	}
	natsAddr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	httpAddr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	args := []string{
		"--data-dir", filepath.Join(dir, "data"),
		"--embedded-nats-listen", natsAddr,
		"--http-addr", httpAddr,
		"--allow-private-networks", // the receiver is on loopback
		"--config", cfg,
	}
	if hasFlag(ctx, bin, "--console-addr") {
		args = append(args, "--console-addr=") // no console: its default port would clash between runs
	}
	c, err := startChild("webhookd", bin, args, childEnv(), filepath.Join(dir, "webhookd.log"), nil, nil, syscall.SIGTERM)
	if err != nil {
		return nil, err
	}
	return &webhookd{
		child:   c,
		natsURL: "nats://" + natsAddr,
		httpURL: "http://" + httpAddr,
		http:    &http.Client{Timeout: 10 * time.Second},
	}, nil
}

// shutdown stops webhookd gracefully (SIGTERM, then SIGKILL after grace).
func (w *webhookd) shutdown(grace time.Duration) error {
	w.http.CloseIdleConnections()
	return w.stop(grace)
}

// freeLoopbackAddr returns 127.0.0.1:<a port that was free a moment ago>.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port on 127.0.0.1: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitReady polls /readyz until it answers 200, webhookd exits or ctx ends.
func (w *webhookd) waitReady(ctx context.Context, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	var last error
	for {
		if err := w.exited(); err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.httpURL+"/readyz", nil)
		if err != nil {
			return fmt.Errorf("webhookd readiness: %w", err)
		}
		if resp, err := w.http.Do(req); err != nil {
			last = err
		} else {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("%s/readyz: %s", w.httpURL, resp.Status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("webhookd not ready within %s (%v): %w", within, last, ctx.Err())
		case <-w.done:
		case <-t.C:
		}
	}
}

// requestsLogged is the sum of webhookd_requests_logged_total, from /metrics: over every state,
// or, when state is not empty, of that state alone.
func (w *webhookd) requestsLogged(ctx context.Context, state string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.httpURL+"/metrics", nil)
	if err != nil {
		return 0, fmt.Errorf("scrape webhookd metrics: %w", err)
	}
	resp, err := w.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("scrape %s/metrics: %w", w.httpURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("scrape %s/metrics: %s", w.httpURL, resp.Status)
	}
	label := ""
	if state != "" {
		label = `state="` + state + `"`
	}
	v, err := sumCounter(resp.Body, "webhookd_requests_logged_total", label)
	if err != nil {
		return 0, fmt.Errorf("scrape %s/metrics: %w", w.httpURL, err)
	}
	return v, nil
}

// saveMetrics writes webhookd's /metrics as it is now to path (kept with -keep, for a look at
// batch sizes and write durations after a run).
func (w *webhookd) saveMetrics(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.httpURL+"/metrics", nil)
	if err != nil {
		return fmt.Errorf("save webhookd metrics: %w", err)
	}
	resp, err := w.http.Do(req)
	if err != nil {
		return fmt.Errorf("save %s/metrics: %w", w.httpURL, err)
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("save webhookd metrics: %w", err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("save %s/metrics to %s: %w", w.httpURL, path, err)
	}
	return f.Close()
}

// sumCounter adds up every sample of the metric name in Prometheus text format; when label is
// not empty (`state="successful"`), only the samples that have that label and value.
func sumCounter(r io.Reader, name, label string) (float64, error) {
	var sum float64
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue // another metric, or a longer name with this prefix
		}
		var labels string
		if strings.HasPrefix(rest, "{") {
			j := strings.LastIndexByte(rest, '}')
			if j < 0 {
				return 0, fmt.Errorf("sample %q: labels not closed", line)
			}
			labels, rest = rest[1:j], rest[j+1:]
		}
		if label != "" && !hasLabel(labels, label) {
			continue
		}
		f := strings.Fields(rest) // the value, then an optional timestamp
		if len(f) == 0 {
			return 0, fmt.Errorf("sample %q has no value", line)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, fmt.Errorf("sample %q: %w", line, err)
		}
		sum += v
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read metrics: %w", err)
	}
	return sum, nil
}

// hasLabel reports whether label (`name="value"`) is one of the comma-separated labels, whose
// values (webhookd's states) hold no comma.
func hasLabel(labels, label string) bool {
	for l := range strings.SplitSeq(labels, ",") {
		if strings.TrimSpace(l) == label {
			return true
		}
	}
	return false
}
