package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/delivery"
)

// TestListenPrintsWebhooksAndVerifiesSignatures runs `webhookctl listen` as a person would and
// sends it one correctly and one wrongly signed webhook with webhookd's own HTTP client.
func TestListenPrintsWebhooksAndVerifiesSignatures(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "-o", "json", "listen", "--addr", addr, "--secret", secret, "--status", "202")
	stdout, _ := cmd.StdoutPipe()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := bufio.NewScanner(stdout)

	client := delivery.NewClient(delivery.Options{AllowPrivateNetworks: true})
	defer client.CloseIdleConnections()
	send := func(key string) delivery.Result {
		deadline := time.Now().Add(10 * time.Second)
		for {
			res := client.Send(ctx, delivery.Attempt{WebhookID: "msg_test", Method: "POST", URL: "http://" + addr + "/hooks",
				SecretKey: key, Body: []byte(`{"type":"customer.updated"}`), Timeout: 5 * time.Second})
			if res.ErrorCode != delivery.CodeConnectionFailed || time.Now().After(deadline) {
				return res
			}
			// The listener is still starting: try again on the next tick.
			<-time.After(20 * time.Millisecond)
		}
	}
	for _, tc := range []struct{ key, want string }{
		{secret, "valid"},
		{"whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "invalid"},
	} {
		res := send(tc.key)
		if res.Outcome != delivery.Success || res.Response == nil || res.Response.Status != http.StatusAccepted {
			t.Fatalf("send: %+v (stderr %s)", res, stderr.String())
		}
		if !lines.Scan() {
			t.Fatalf("no output line (stderr %s)", stderr.String())
		}
		var rec struct {
			WebhookID string `json:"webhook_id"`
			Signature string
			Path      string
			Body      map[string]any
		}
		if err := json.Unmarshal(lines.Bytes(), &rec); err != nil {
			t.Fatalf("output %q: %v", lines.Text(), err)
		}
		if !strings.HasPrefix(rec.Signature, tc.want) || rec.WebhookID != "msg_test" || rec.Path != "/hooks" || rec.Body["type"] != "customer.updated" {
			t.Errorf("printed %+v, want signature %s", rec, tc.want)
		}
	}
}
