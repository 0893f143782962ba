package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/control"
	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/event"
	"github.com/webhookd/webhookd/internal/fakedeliverer"
	"github.com/webhookd/webhookd/internal/natstest"
	"github.com/webhookd/webhookd/internal/receivertest"
	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/redact"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/storage/sqlite"
	"github.com/webhookd/webhookd/webhook"
)

// binary is webhookctl built once for the tests that run it as a person would.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "webhookctl-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "webhookctl")
	// The binary reads the nats CLI's NATS_URL and contexts: the tests never see the person's.
	for _, v := range []string{"NATS_URL", "NATS_CONTEXT", "WEBHOOKD_NATS_URL"} {
		os.Unsetenv(v)
	}
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build webhookctl:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(int) { os.RemoveAll(dir) }))
}

// env is a control responder on an in-process NATS (with JetStream, for publish) and a
// standalone store, and a receiver.
type env struct {
	t     *testing.T
	url   string
	store *sqlite.Store
	js    jetstream.JetStream
	recv  *receivertest.Receiver
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, url: natstest.URL(t), recv: receivertest.New(t)}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "webhookd.db"), testutil.Keyring(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close(context.Background()) })
	nc, js := natstest.Connect(t, e.url)
	e.store, e.js = store, js
	if _, err := e.js.CreateStream(ctx, jetstream.StreamConfig{Name: event.StreamName, Subjects: []string{event.StreamSubjects}, Duplicates: time.Minute}); err != nil {
		t.Fatal(err)
	}
	r, err := control.Start(ctx, control.Options{Conn: nc, Store: e.store, Deliverer: fakedeliverer.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Stop(context.Background()) })
	return e
}

type result struct {
	code           int
	stdout, stderr string
}

// ctl runs webhookctl against the env, as user ann unless --user says otherwise.
func (e *env) ctl(args ...string) result {
	e.t.Helper()
	return e.ctlEnv([]string{"WEBHOOKD_NATS_URL=" + e.url}, args...)
}

// ctlEnv runs webhookctl with the variables vars added to the environment, as user ann.
func (e *env) ctlEnv(vars []string, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(append(os.Environ(), "WEBHOOKCTL_USER=ann", "WEBHOOKCTL_TIMEOUT=20s"), vars...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("run webhookctl %v: %v", args, err)
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func (e *env) ok(args ...string) result {
	e.t.Helper()
	r := e.ctl(args...)
	if r.code != 0 {
		e.t.Fatalf("webhookctl %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

func (e *env) want(code int, args ...string) result {
	e.t.Helper()
	r := e.ctl(args...)
	if r.code != code {
		e.t.Fatalf("webhookctl %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	return r
}

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func (e *env) seed(state, defID string) *storage.WebhookRequest {
	e.t.Helper()
	ctx := context.Background()
	seq, err := e.store.ReserveNumbers(ctx, 1)
	if err != nil {
		e.t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	evID := fmt.Sprintf("ev-%d", seq)
	wr := &storage.WebhookRequest{Number: storage.FormatNumber(seq), Seq: seq, WebhookID: webhook.NewWebhookID(evID, "r1", defID),
		State: state, Entity: "customer", EntityID: "C-1001", EventID: evID, URL: e.recv.URL, SecretKey: redact.Secret(secret),
		Request: storage.RequestInfo{Method: "POST", URL: e.recv.URL, Headers: map[string]string{"Content-Type": "application/json"},
			Body: `{"type":"customer.updated"}`, SentAt: now},
		WebhookDefinition: storage.Ref{ID: defID, Name: "ERP"}, WorkflowRule: storage.Ref{ID: "r1", Name: "R1"}, Attempts: 1,
		Log: storage.Log{CreatedAt: now, CreatedBy: "system", UpdatedAt: now, UpdatedBy: "system"}}
	if state == storage.StateRejected {
		wr.ErrorCode, wr.ErrorDescription = "HTTP_503", "receiver answered 503 Service Unavailable"
		wr.Response = &storage.ResponseInfo{Status: 503, Headers: map[string]string{"Retry-After": "60"}, Body: "down for maintenance"}
	}
	if _, err := e.store.InsertRequests(ctx, []*storage.WebhookRequest{wr}); err != nil {
		e.t.Fatal(err)
	}
	return wr
}

func (e *env) writeFile(name, content string) string {
	p := filepath.Join(e.t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func configYAML(url string) string {
	return `webhook_definitions:
  - id: erp-sync
    name: ERP customer sync
    url: ` + url + `
    secret_key: ` + secret + `
    headers: {X-Api-Version: "2"}
    timeout: 5s
workflow_rules:
  - id: customer-activated
    name: Customer activated
    entity: customer
    actions: [created, updated]
    condition: 'event.data.status == "active"'
    webhook_definitions: [erp-sync]
`
}

// lines returns the non-empty lines of s.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

func TestApplyAndConfiguration(t *testing.T) {
	e := newEnv(t)
	file := e.writeFile("webhooks.yaml", configYAML(e.recv.URL))
	r := e.ok("apply", "-f", file)
	if r.stdout != "Applied 1 webhook definition and 1 workflow rule.\n" {
		t.Errorf("apply: %q", r.stdout)
	}

	r = e.ok("definitions", "list")
	ls := lines(r.stdout)
	if len(ls) != 2 || !strings.HasPrefix(ls[0], "ID ") || !strings.Contains(ls[0], "URL") ||
		!strings.HasPrefix(ls[1], "erp-sync ") || !strings.Contains(ls[1], e.recv.URL) || !strings.Contains(ls[1], "by ann") {
		t.Errorf("definitions list:\n%s", r.stdout)
	}
	var defs controlapi.ItemsResult[config.Definition]
	if err := json.Unmarshal([]byte(e.ok("-o", "json", "defs", "ls").stdout), &defs); err != nil || len(defs.Items) != 1 ||
		defs.Items[0].SecretKey != "whsec_…LaSw" {
		t.Errorf("definitions list -o json: %+v %v", defs, err)
	}
	r = e.ok("definitions", "get", "erp-sync")
	if strings.Contains(r.stdout, "MfKQ9r8GKYqrTwjUPD8I") || !strings.Contains(r.stdout, "secret_key: whsec_…LaSw") ||
		!strings.Contains(r.stdout, "timeout: 5s") {
		t.Errorf("definitions get:\n%s", r.stdout)
	}
	// The YAML shown is section 4's form: it parses back (and is refused while its secret is masked).
	if doc, err := config.ParseYAML([]byte(r.stdout)); err != nil || len(doc.WebhookDefinitions) != 1 {
		t.Errorf("definitions get output does not parse as a config document: %v", err)
	}
	r = e.ok("rules", "list")
	if ls := lines(r.stdout); len(ls) != 2 || !strings.Contains(ls[1], "customer-activated") || !strings.Contains(ls[1], "created,updated") {
		t.Errorf("rules list:\n%s", r.stdout)
	}
	e.ok("rules", "get", "customer-activated")

	// Refusals, with their exit codes.
	r = e.want(exitError, "definitions", "delete", "erp-sync")
	if !strings.Contains(r.stderr, string(controlapi.CodeDefinitionInUse)) {
		t.Errorf("delete in use: %s", r.stderr)
	}
	r = e.want(exitError, "-o", "json", "definitions", "delete", "erp-sync")
	var rep controlapi.Reply
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.OK || rep.Error.Code != controlapi.CodeDefinitionInUse {
		t.Errorf("-o json error reply: %s", r.stdout)
	}
	e.want(exitNotFound, "rules", "get", "nope")
	bad := e.writeFile("bad.yaml", "webhook_definitions:\n  - id: x\n    nmae: typo\n")
	if r := e.want(exitUsage, "apply", "-f", bad); !strings.Contains(r.stderr, "line 3") {
		t.Errorf("strict YAML: %s", r.stderr)
	}
	invalid := e.writeFile("invalid.yaml", "workflow_rules:\n  - {id: r, name: R, entity: customer, webhook_definitions: [ghost]}\n")
	if r := e.want(exitError, "apply", "-f", invalid); !strings.Contains(r.stderr, string(controlapi.CodeInvalidConfig)) || !strings.Contains(r.stderr, "ghost") {
		t.Errorf("invalid config: %s", r.stderr)
	}
	e.want(exitUsage, "apply", "-f", filepath.Join(t.TempDir(), "missing.yaml"))

	e.ok("rules", "delete", "customer-activated")
	if r := e.ok("definitions", "delete", "erp-sync"); !strings.Contains(r.stdout, "Deleted webhook definition erp-sync") {
		t.Errorf("delete: %s", r.stdout)
	}
	audit, _ := e.store.ListAudit(context.Background(), 10)
	if len(audit) == 0 || audit[0].User != "ann" || audit[0].Command != controlapi.CmdDefinitionsDelete {
		t.Errorf("audit = %+v", audit)
	}
}

func TestRequestsCommands(t *testing.T) {
	e := newEnv(t)
	e.ok("apply", "-f", e.writeFile("webhooks.yaml", configYAML(e.recv.URL)))
	var rejected []*storage.WebhookRequest
	for range 3 {
		rejected = append(rejected, e.seed(storage.StateRejected, "erp-sync"))
		e.seed(storage.StateSuccessful, "erp-sync")
	}

	r := e.ok("requests", "list")
	ls := lines(r.stdout)
	if len(ls) != 7 || !strings.HasPrefix(ls[0], "NUMBER ") || !strings.Contains(ls[0], "ATTEMPTS") {
		t.Fatalf("requests list:\n%s", r.stdout)
	}
	if !strings.HasPrefix(ls[2], rejected[2].Number+" ") || !strings.Contains(ls[2], "rejected") || !strings.Contains(ls[2], "HTTP_503") {
		t.Errorf("row: %q", ls[2])
	}

	var list controlapi.ListResult
	if err := json.Unmarshal([]byte(e.ok("-o", "json", "requests", "list", "--state", "rejected").stdout), &list); err != nil ||
		len(list.Items) != 3 || list.Items[0].Number != rejected[2].Number || list.Next != "" {
		t.Fatalf("list -o json: %+v %v", list, err)
	}
	r = e.ok("requests", "list", "--limit", "2")
	if len(lines(r.stdout)) != 3 || !strings.Contains(r.stderr, "--after ") {
		t.Errorf("paged list:\n%s\n%s", r.stdout, r.stderr)
	}
	if err := json.Unmarshal([]byte(e.ok("-o", "json", "requests", "list", "--all", "--limit", "2").stdout), &list); err != nil || len(list.Items) != 6 {
		t.Fatalf("list --all -o json: %d items, %v", len(list.Items), err)
	}
	if r := e.ok("requests", "list", "--all", "--limit", "4", "--entity", "customer"); len(lines(r.stdout)) != 7 {
		t.Errorf("list --all:\n%s", r.stdout)
	}
	e.want(exitUsage, "requests", "list", "--state", "lost")
	e.want(exitUsage, "requests", "list", "--from", "last tuesday")

	r = e.ok("requests", "get", rejected[0].Number)
	for _, want := range []string{"Number:", rejected[0].Number, "HTTP_503: receiver answered 503", "Response: 503", "Retry-After: 60", "down for maintenance", "whsec_…LaSw"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("requests get: %q missing in\n%s", want, r.stdout)
		}
	}
	e.want(exitNotFound, "requests", "get", "WR-0009999999")

	// Resend: one by number, then by filter with a progress bar (forced: stderr is a pipe here).
	r = e.ok("requests", "resend", rejected[0].Number)
	if ls := lines(r.stdout); len(ls) != 3 || !strings.Contains(ls[1], "successful") || !strings.Contains(ls[1], "WR-") ||
		ls[2] != "Successful: 1, rejected: 0, failed: 0." {
		t.Errorf("resend:\n%s", r.stdout)
	}
	e.recv.SetStatus(http.StatusBadRequest) // not 410: a 410 deactivates the definition
	r = e.want(exitPartial, "--progress", "requests", "resend", "--state", "rejected", "--entity", "customer")
	if !strings.Contains(r.stdout, "Successful: 0, rejected: 2, failed: 0.") || !strings.Contains(r.stdout, "HTTP_400") {
		t.Errorf("resend by filter:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "resending [") || !strings.Contains(r.stderr, "2/2 100%") {
		t.Errorf("no progress bar: %q", r.stderr)
	}
	var res controlapi.ResendResult
	r = e.want(exitPartial, "-o", "json", "requests", "resend", rejected[1].Number, "WR-0009999999")
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.Rejected != 1 || res.Failed != 1 || res.Results[1].ErrorCode != controlapi.CodeNotFound {
		t.Errorf("resend -o json: %+v %v", res, err)
	}
	if strings.Contains(r.stderr, "resending [") {
		t.Errorf("progress bar on a pipe without --progress: %q", r.stderr)
	}
	e.want(exitUsage, "requests", "resend")
	e.want(exitUsage, "requests", "resend", rejected[1].Number, "--state", "rejected")

	// Delete.
	r = e.want(exitPartial, "requests", "delete", rejected[1].Number, "WR-0009999999")
	if !strings.Contains(r.stdout, "Deleted 1 webhook request.") || !strings.Contains(r.stdout, "Not found: WR-0009999999") {
		t.Errorf("delete:\n%s", r.stdout)
	}
	var del controlapi.DeleteResult
	if err := json.Unmarshal([]byte(e.ok("-o", "json", "requests", "delete", "--state", "successful", "--user", "bob").stdout), &del); err != nil || del.Deleted != 4 {
		t.Errorf("delete by filter: %+v %v", del, err)
	}
	audit, _ := e.store.ListAudit(context.Background(), 1)
	if len(audit) != 1 || audit[0].User != "bob" {
		t.Errorf("--user: audit = %+v", audit)
	}
	if r := e.ok("requests", "list"); len(lines(r.stdout)) != 2 {
		t.Errorf("left:\n%s", r.stdout)
	}
}

func TestPublish(t *testing.T) {
	e := newEnv(t)
	args := []string{"publish", "--entity", "customer", "--action", "updated", "--entity-id", "C-1001",
		"--changed", "status,name", "--data", `{"status":"active"}`, "--id", "ev-42"}
	r := e.ok(args...)
	if !strings.Contains(r.stdout, "Published event ev-42 on crm.events.customer.updated: stream CRM_EVENTS, sequence 1.") {
		t.Errorf("publish: %s", r.stdout)
	}
	if r := e.ok(args...); !strings.Contains(r.stdout, "duplicate") {
		t.Errorf("publish again: %s", r.stdout)
	}
	ctx := context.Background()
	s, _ := e.js.Stream(ctx, event.StreamName)
	m, err := s.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := event.Parse(m.Subject, m.Data)
	if err != nil || ev.ID != "ev-42" || len(ev.Changed) != 2 || string(ev.Data) != `{"status":"active"}` {
		t.Errorf("published event = %+v, %v", ev, err)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(e.ok("-o", "json", "publish", "--entity", "order", "--action", "created", "--entity-id", "O-1").stdout), &out); err != nil ||
		out["stream"] != "CRM_EVENTS" || out["sequence"] != float64(2) || !strings.HasPrefix(out["id"].(string), "evt-") {
		t.Errorf("publish -o json: %v %v", out, err)
	}
	e.want(exitUsage, "publish", "--entity", "Customer", "--action", "updated", "--entity-id", "C-1")
	e.want(exitUsage, "publish", "--entity", "customer", "--action", "updated", "--entity-id", "C-1", "--data", "{")
	e.want(exitUsage, "publish", "--entity", "customer")
}

func TestUnreachable(t *testing.T) {
	// Nothing listens there.
	ln := httptest.NewServer(http.NotFoundHandler())
	addr := strings.TrimPrefix(ln.URL, "http://")
	ln.Close()
	cmd := exec.Command(binary, "--nats-url", "nats://"+addr, "--timeout", "2s", "definitions", "list")
	if err := cmd.Run(); exitOf(err) != exitUnavailable {
		t.Errorf("no NATS: exit %d, want %d", exitOf(err), exitUnavailable)
	}
	// NATS but no webhookd.
	var errb bytes.Buffer
	cmd = exec.Command(binary, "--nats-url", natstest.URL(t), "rules", "list")
	cmd.Stderr = &errb
	if err := cmd.Run(); exitOf(err) != exitUnavailable || !strings.Contains(errb.String(), "no webhookd") {
		t.Errorf("no webhookd: exit %d, stderr %s", exitOf(err), errb.String())
	}
}

func exitOf(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestSecretGenerateAndHelp(t *testing.T) {
	out, err := exec.Command(binary, "secret", "generate").Output()
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(string(out))
	if _, err := webhook.DecodeSecret(key); err != nil {
		t.Errorf("generated %q: %v", key, err)
	}
	out, err = exec.Command(binary, "requests", "list", "--help").Output()
	if err != nil || !strings.Contains(string(out), "Examples:") || !strings.Contains(string(out), "--definition") {
		t.Errorf("help: %v\n%s", err, out)
	}
	if err := exec.Command(binary, "frobnicate").Run(); exitOf(err) != exitUsage {
		t.Errorf("unknown command: exit %d", exitOf(err))
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2025, 3, 2, 12, 0, 0, 0, time.UTC)
	cases := map[string]string{
		"":                          "",
		"2025-03-01T10:00:00Z":      "2025-03-01T10:00:00Z",
		"2025-03-01T10:00:00+02:00": "2025-03-01T10:00:00+02:00",
		"2025-03-01":                "2025-03-01T00:00:00Z",
		"24h":                       "2025-03-01T12:00:00Z",
		"90m":                       "2025-03-02T10:30:00Z",
	}
	for in, want := range cases {
		if got, err := parseWhen(in, now); err != nil || got != want {
			t.Errorf("parseWhen(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"yesterday", "-5h", "2025-13-01", "0s"} {
		if _, err := parseWhen(bad, now); err == nil {
			t.Errorf("parseWhen(%q) accepted", bad)
		}
	}
}

func TestExitCodes(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{errPartial, exitPartial},
		{usagef("x"), exitUsage},
		{&controlapi.Error{Code: controlapi.CodeNotFound}, exitNotFound},
		{fmt.Errorf("wrapped: %w", &controlapi.Error{Code: controlapi.CodeNotFound}), exitNotFound},
		{&controlapi.Error{Code: controlapi.CodeBadRequest}, exitError},
		{&controlapi.Error{Code: controlapi.CodeInterrupted}, exitError},
		{fmt.Errorf("x: %w", controlapi.ErrNoResponders), exitUnavailable},
		{fmt.Errorf("x: %w", controlapi.ErrTimeout), exitUnavailable},
		{&unavailableError{err: fmt.Errorf("connect")}, exitUnavailable},
		{fmt.Errorf("other"), exitError},
	}
	for _, c := range cases {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}
