package worker_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/internal/receivertest"
	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/internal/workertest"
	"github.com/webhookd/webhookd/secrets"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/webhook"
	"github.com/webhookd/webhookd/worker"
)

// newSecret is the key a rotation moves the test definition to.
const newSecret = "whsec_T3RoZXIga2V5IGZvciByb3RhdGlvbiB0ZXN0cw=="

// metric reads one sample of the worker's /metrics, e.g. `webhookd_secrets_stale`; -1 if absent.
func metric(t *testing.T, e *workertest.Env, series string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + e.W.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err == nil {
				return f
			}
		}
	}
	return -1
}

// verifiesWith reports whether the Standard Webhooks library accepts the request with key.
func verifiesWith(t *testing.T, r receivertest.Request, key string) bool {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(key)
	if err != nil {
		t.Fatal(err)
	}
	return wh.Verify(r.Body, r.Header) == nil
}

// TestSecretRotationGrace: after config.apply changes a definition's secret_key, every attempt
// of the pipeline and every resend is signed with the new key and the previous one (new first),
// so a receiver verifying with the Standard Webhooks library accepts it with either; once
// secret_rotation_grace is over (the worker's clock is moved forward, nobody sleeps), only the
// new key verifies. Replies show the previous key masked, with when it stops signing.
func TestSecretRotationGrace(t *testing.T) {
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	var status atomic.Int32
	status.Store(http.StatusOK)
	rc := workertest.NewReceiver(t, func(int, *http.Request) int { return int(status.Load()) })
	const extra = "    retry: {max_attempts: 1}\n"
	e := workertest.Setup(t, workertest.ConfigOf([]string{workertest.DefinitionYAML("d1", rc.URL, extra)},
		[]string{workertest.RuleYAML("r1", "customer", "d1")}), func(o *worker.Options) { o.Now = clock })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client := controlapi.NewClient(e.NC)

	reloads := metric(t, e, `webhookd_config_reloads_total{result="ok"}`)
	doc := fmt.Sprintf(`{"user":"ops","webhook_definitions":[{"id":"d1","name":"Definition d1","url":%q,"secret_key":%q,"retry":{"max_attempts":1}}]}`,
		rc.URL, newSecret)
	var applied controlapi.ApplyResult
	if err := client.Do(ctx, controlapi.CmdConfigApply, json.RawMessage(doc), &applied, nil); err != nil {
		t.Fatalf("config.apply: %v", err)
	}
	testutil.Eventually(t, 20*time.Second, "the worker to load the new secret", func() bool {
		return metric(t, e, `webhookd_config_reloads_total{result="ok"}`) > reloads
	})

	// The reply shows the rotation masked.
	var got struct {
		Item map[string]any `json:"item"`
	}
	if err := client.Do(ctx, controlapi.CmdDefinitionsGet, controlapi.IDRequest{ID: "d1"}, &got, nil); err != nil {
		t.Fatal(err)
	}
	reply, _ := json.Marshal(got.Item)
	if got.Item["secret_key"] != "whsec_…cw==" || got.Item["previous_secret_key"] != "whsec_…LaSw" || got.Item["previous_secret_until"] == nil {
		t.Errorf("definitions.get = %s; want both keys masked and previous_secret_until", reply)
	}
	if strings.Contains(string(reply), workertest.Secret[6:20]) || strings.Contains(string(reply), newSecret[6:20]) {
		t.Errorf("definitions.get shows a key: %s", reply)
	}

	n := 0
	event := func() {
		n++
		e.Publish(workertest.Event{ID: fmt.Sprintf("ev-%d", n), Entity: "customer", EntityID: "C-1", Action: "updated", Data: map[string]any{"n": n}})
	}
	last := func(want int) receivertest.Request {
		t.Helper()
		testutil.Eventually(t, 20*time.Second, fmt.Sprintf("request %d at the receiver", want), func() bool { return int(rc.Count()) >= want })
		reqs := rc.Requests()
		return reqs[want-1]
	}
	resend := func() {
		t.Helper()
		rejected := e.WaitRequests(1, storage.Filter{State: storage.StateRejected})
		var res controlapi.ResendResult
		if err := client.Do(ctx, controlapi.CmdRequestsResend, controlapi.BulkRequest{Numbers: []string{rejected[0].Number}, User: "ops"}, &res, nil); err != nil {
			t.Fatalf("resend: %v", err)
		}
		if res.Successful != 1 {
			t.Fatalf("resend: %+v", res)
		}
	}
	check := func(what string, r receivertest.Request, oldVerifies bool) {
		t.Helper()
		sigs := strings.Fields(r.Header.Get(webhook.HeaderSignature))
		wantSigs := 1
		if oldVerifies {
			wantSigs = 2
		}
		if len(sigs) != wantSigs {
			t.Errorf("%s: webhook-signature %q has %d signatures, want %d", what, r.Header.Get(webhook.HeaderSignature), len(sigs), wantSigs)
		}
		if !verifiesWith(t, r, newSecret) {
			t.Errorf("%s: the new key does not verify", what)
		}
		if got := verifiesWith(t, r, workertest.Secret); got != oldVerifies {
			t.Errorf("%s: the previous key verifies: %v, want %v", what, got, oldVerifies)
		}
		// The new key's signature comes first.
		first := r.Header.Clone()
		first.Set(webhook.HeaderSignature, sigs[0])
		if !verifiesWith(t, receivertest.Request{Header: first, Body: r.Body}, newSecret) {
			t.Errorf("%s: the first signature is not the new key's", what)
		}
	}

	// During the grace: the pipeline and a resend sign with both keys.
	event()
	check("pipeline during the grace", last(1), true)
	status.Store(http.StatusInternalServerError)
	event()
	last(2)
	status.Store(http.StatusOK)
	resend()
	check("resend during the grace", last(3), true)

	// 24 hours later (the default grace): the new key alone.
	offset.Store(int64(24*time.Hour + time.Minute))
	event()
	check("pipeline after the grace", last(4), false)
	status.Store(http.StatusInternalServerError)
	event()
	last(5)
	status.Store(http.StatusOK)
	resend()
	check("resend after the grace", last(6), false)
}

// TestSecretsKeyFileStandalone: standalone without --secrets-key-file creates its key file
// (0600) at the first start, the store file holds no secret in clear, and a key rotation (a new
// key first in the file) re-encrypts the store at the next start, which the log and
// webhookd_secrets_stale say; then the old key can go.
func TestSecretsKeyFileStandalone(t *testing.T) {
	logs := &testutil.LogBuffer{}
	rc := workertest.NewReceiver(t, nil)
	const token = "Bearer standalone-token-0123456789"
	extra := fmt.Sprintf("    headers: {Authorization: %q}\n", token)
	e := workertest.Setup(t, workertest.ConfigOf([]string{workertest.DefinitionYAML("d1", rc.URL, extra)},
		[]string{workertest.RuleYAML("r1", "customer", "d1")}), func(o *worker.Options) {
		o.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	path := filepath.Join(e.Dir, worker.StandaloneKeyFile)
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("standalone key file: %v, mode %v; want 0600", err, info.Mode().Perm())
	}
	if _, err := secrets.LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "created secrets key file "+path) {
		t.Errorf("the log does not say the key file was created:\n%s", logs)
	}
	if got := metric(t, e, "webhookd_secrets_stale"); got != 0 {
		t.Errorf("webhookd_secrets_stale = %v, want 0", got)
	}
	e.Publish(workertest.Event{ID: "ev-1", Entity: "customer", EntityID: "C-1", Action: "updated", Data: map[string]any{}})
	e.WaitRequests(1, storage.Filter{})
	e.Stop()

	// The raw store file (and its WAL) holds neither the secret key nor the credential header.
	var raw []byte
	for _, p := range []string{"webhookd.db", "webhookd.db-wal"} {
		b, _ := os.ReadFile(filepath.Join(e.Dir, p))
		raw = append(raw, b...)
	}
	if !bytes.Contains(raw, []byte("Definition d1")) {
		t.Fatal("the store file does not hold the definition: wrong file?")
	}
	for _, s := range []string{workertest.Secret[6:], workertest.Secret[6:18], "standalone-token-0123456789"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("the store file holds %q in clear", s)
		}
	}

	// Rotation: a new key first, the old one still listed.
	old, _ := os.ReadFile(path)
	line, err := secrets.NewKeyLine("rotated")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append([]byte(line), old...), 0o600); err != nil {
		t.Fatal(err)
	}
	e.Start()
	if want := "secrets re-encrypted under key rotated: 1 definitions"; !strings.Contains(logs.String(), want) {
		t.Errorf("the log does not say %q:\n%s", want, logs)
	}
	if got := metric(t, e, "webhookd_secrets_stale"); got != 0 {
		t.Errorf("webhookd_secrets_stale after the re-encryption = %v, want 0", got)
	}
	e.Stop()

	// The old key can go now: the store needs only the new one.
	if err := os.WriteFile(path, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	e.Start()
	e.Publish(workertest.Event{ID: "ev-2", Entity: "customer", EntityID: "C-1", Action: "updated", Data: map[string]any{}})
	e.WaitRequests(2, storage.Filter{})
	for i, r := range rc.Requests() {
		if r.Err != nil || r.Header.Get("Authorization") != token {
			t.Errorf("request %d: signature %v, Authorization %q", i+1, r.Err, r.Header.Get("Authorization"))
		}
	}
	if strings.Contains(logs.String(), workertest.Secret[6:]) || strings.Contains(logs.String(), "standalone-token") {
		t.Error("the log holds a secret")
	}
	if strings.Contains(logs.String(), strings.Fields(line)[1]) || strings.Contains(string(old), "rotated") {
		t.Error("the log holds key material")
	}
}
