package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/webhookd/webhookd/webhook"
)

// listenCmd is a receiver for trying webhookd out: it prints every webhook it gets and whether
// its Standard Webhooks signature verifies.
type listenCmd struct {
	Addr   string `name:"addr" default:"127.0.0.1:9000" help:"Address to listen on."`
	Secret string `name:"secret" env:"WEBHOOKCTL_LISTEN_SECRET" help:"The definition's secret key (whsec_...), to verify signatures."`
	Status int    `name:"status" default:"200" help:"HTTP status to answer with (e.g. 503 to watch retries, 410 to watch a definition being deactivated)."`
}

func (c *listenCmd) Help() string {
	return `A local receiver for trying webhookd out. Point a definition's url at it (webhookd needs
--allow-private-networks to deliver to your own machine) and watch webhooks arrive.

Example:

    webhookctl listen --addr 127.0.0.1:9000 --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw`
}

// maxListenBody bounds what the receiver reads of a request.
const maxListenBody = 1 << 20

func (c *listenCmd) Run(a *app) error {
	if c.Secret != "" {
		if _, err := webhook.DecodeSecret(c.Secret); err != nil {
			return usagef("--secret: %v", err)
		}
	}
	if c.Status < 200 || c.Status > 599 {
		return usagef("--status must be an HTTP status (200-599)")
	}
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return usagef("listen on %s: %v", c.Addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(c.handle(a)), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(a.stderr, "Listening on http://%s (Ctrl-C to stop)\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-a.ctx.Done():
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

type received struct {
	Time      time.Time       `json:"time"`
	Method    string          `json:"method"`
	Path      string          `json:"path"`
	WebhookID string          `json:"webhook_id"`
	Signature string          `json:"signature"` // "valid", "invalid: …" or "not checked"
	Body      json.RawMessage `json:"body,omitempty"`
	RawBody   string          `json:"raw_body,omitempty"`
}

func (c *listenCmd) handle(a *app) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxListenBody))
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		rec := received{Time: time.Now().UTC(), Method: r.Method, Path: r.URL.Path,
			WebhookID: r.Header.Get(webhook.HeaderID), Signature: "not checked (no --secret)"}
		if c.Secret != "" {
			if err := webhook.Verify(c.Secret, r.Header, body, time.Now(), 0); err != nil {
				rec.Signature = "invalid: " + err.Error()
			} else {
				rec.Signature = "valid"
			}
		}
		if json.Valid(body) {
			rec.Body = body
		} else {
			rec.RawBody = string(body)
		}
		if a.json() {
			_ = json.NewEncoder(a.stdout).Encode(rec)
		} else {
			pretty, _ := json.MarshalIndent(rec.Body, "  ", "  ")
			if rec.Body == nil {
				pretty = []byte(rec.RawBody)
			}
			fmt.Fprintf(a.stdout, "%s %s %s  webhook-id %s  signature %s  -> %d\n  %s\n",
				rec.Time.Format(time.RFC3339), rec.Method, rec.Path, rec.WebhookID, rec.Signature, c.Status, pretty)
		}
		w.WriteHeader(c.Status)
	}
}
