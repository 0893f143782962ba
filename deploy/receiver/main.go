// Command receiver is the sample webhook receiver of docker-compose.yml: it verifies Standard
// Webhooks signatures (webhook-id, webhook-timestamp, webhook-signature) with the secrets it is
// given, logs one line per request, and answers with a status chosen by the query string, so the
// compose setup can show successes, retries and rejections on the dashboard.
//
//	POST /hooks/<name>             200, or 401 when no configured secret verifies the signature
//	POST /hooks/<name>?status=422  that status (after verification)
//	POST /hooks/<name>?fail=0.3    503 for 30% of requests, chosen at random
//	GET  /healthz                  200
//
// Secrets come from -secrets (comma-separated) and from the secret_key values of a webhookd
// config file given with -config.
//
// It is a demonstration tool, not part of webhookd; it verifies with package webhook, as any Go
// receiver may.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/webhookd/webhookd/webhook"
)

// maxBody bounds what the receiver reads of a request; webhookd's bodies are far smaller.
const maxBody = 1 << 20

func main() {
	addr := flag.String("addr", envOr("RECEIVER_ADDR", ":8090"), "listen address (env RECEIVER_ADDR)")
	secrets := flag.String("secrets", os.Getenv("RECEIVER_SECRETS"),
		"comma-separated whsec_ secrets accepted for signatures; empty: signatures are not checked (env RECEIVER_SECRETS)")
	configFile := flag.String("config", os.Getenv("RECEIVER_CONFIG"),
		"a webhookd config file (CONTRACT.md section 4) whose definitions' secret_key values are accepted too (env RECEIVER_CONFIG)")
	flag.Parse()

	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	keys := splitSecrets(*secrets)
	if *configFile != "" {
		fromConfig, err := secretsFromConfig(*configFile)
		if err != nil {
			log.Error("receiver: read config", "error", err)
			os.Exit(2)
		}
		keys = append(keys, fromConfig...)
	}
	h, err := newHandler(log, keys, time.Now, rand.Float64)
	if err != nil {
		log.Error("receiver: bad secrets", "error", err)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Error("receiver: listen", "addr", *addr, "error", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, ln, h, log); err != nil {
		log.Error("receiver failed", "error", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func splitSecrets(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// secretsFromConfig reads the secret keys of a webhookd config document, so the compose setup
// keeps each sample secret in one file.
func secretsFromConfig(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var doc struct {
		Definitions []struct {
			SecretKey string `yaml:"secret_key"`
		} `yaml:"webhook_definitions"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	var out []string
	for _, d := range doc.Definitions {
		if d.SecretKey != "" {
			out = append(out, d.SecretKey)
		}
	}
	return out, nil
}

// serve runs the HTTP server on ln until ctx ends, then shuts it down gracefully.
func serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	addr := ln.Addr().String()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("receiver listening", "addr", addr)
	select {
	case err := <-errc:
		return fmt.Errorf("serve on %q: %w", addr, err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve on %q: %w", addr, err)
	}
	return nil
}

type handler struct {
	log     *slog.Logger
	secrets []string
	now     func() time.Time
	rand    func() float64
	mux     *http.ServeMux
}

// newHandler checks the whsec_ secrets; an undecodable one is an error rather than a key that
// silently never matches.
func newHandler(log *slog.Logger, secrets []string, now func() time.Time, rnd func() float64) (http.Handler, error) {
	h := &handler{log: log, secrets: secrets, now: now, rand: rnd, mux: http.NewServeMux()}
	for i, s := range secrets {
		if _, err := webhook.DecodeSecret(s); err != nil {
			return nil, fmt.Errorf("secret %d: %w", i+1, err)
		}
	}
	h.mux.HandleFunc("POST /hooks/{name}", h.hook)
	h.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	return h.mux, nil
}

func (h *handler) hook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		h.answer(w, r, http.StatusBadRequest, "body unreadable or too large")
		return
	}
	if len(h.secrets) > 0 {
		if reason := h.verify(r.Header, body); reason != "" {
			h.answer(w, r, http.StatusUnauthorized, reason)
			return
		}
	}
	status := http.StatusOK
	if s := r.URL.Query().Get("status"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 200 || n > 599 {
			h.answer(w, r, http.StatusBadRequest, "status must be 200-599")
			return
		}
		status = n
	}
	if f := r.URL.Query().Get("fail"); f != "" {
		p, err := strconv.ParseFloat(f, 64)
		if err != nil || math.IsNaN(p) || p < 0 || p > 1 {
			h.answer(w, r, http.StatusBadRequest, "fail must be a probability 0-1")
			return
		}
		if h.rand() < p {
			status = http.StatusServiceUnavailable
		}
	}
	h.answer(w, r, status, "")
}

// verify returns why the signature headers do not verify with any of the secrets (Standard
// Webhooks, with its 5-minute timestamp tolerance), or "" when one does.
func (h *handler) verify(hdr http.Header, body []byte) string {
	var err error
	for _, secret := range h.secrets {
		if err = webhook.Verify(secret, hdr, body, h.now(), 0); err == nil {
			return ""
		}
	}
	return err.Error()
}

func (h *handler) answer(w http.ResponseWriter, r *http.Request, status int, reason string) {
	h.log.Info("webhook",
		"path", r.URL.Path, "method", r.Method, "webhook_id", r.Header.Get("webhook-id"),
		"content_type", r.Header.Get("Content-Type"), "user_agent", r.Header.Get("User-Agent"),
		"status", status, "reason", reason)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	if reason != "" {
		_, _ = io.WriteString(w, reason+"\n")
	}
}
