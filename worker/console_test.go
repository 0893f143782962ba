package worker_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/internal/workertest"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/worker"
)

// TestConsoleServesTheControlPlane: a worker with a console address serves the console, whose
// generated admin (standalone, no users file) signs in and sees the worker's webhook requests;
// a worker without one has no console.
func TestConsoleServesTheControlPlane(t *testing.T) {
	if e := workertest.Setup(t, workertest.ConfigOf(nil, nil)); e.W.ConsoleAddr() != "" {
		t.Fatalf("console on %s without a console address", e.W.ConsoleAddr())
	}

	rc := workertest.NewReceiver(t, nil)
	e := workertest.Setup(t, workertest.ConfigOf([]string{workertest.DefinitionYAML("d1", rc.URL, "")},
		[]string{workertest.RuleYAML("r1", "customer", "d1")}),
		func(o *worker.Options) { o.ConsoleAddr = "127.0.0.1:0" })
	e.Publish(workertest.Event{ID: "ev-1", Entity: "customer", EntityID: "C-1", Action: "updated", Data: map[string]any{}})
	wr := e.WaitRequests(1, storage.Filter{})[0]

	b, err := os.ReadFile(filepath.Join(e.Dir, "console-admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + e.W.ConsoleAddr()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodPost, base+"/sign-in",
		strings.NewReader(url.Values{"user": {"admin"}, "password": {strings.TrimSpace(string(b))}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(resp)
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Fatalf("sign in as admin: %d, %d cookies", resp.StatusCode, len(resp.Cookies()))
	}
	req, _ = http.NewRequest(http.MethodGet, base+"/", nil)
	req.AddCookie(resp.Cookies()[0])
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(resp); resp.StatusCode != http.StatusOK || !strings.Contains(body, wr.Number) {
		t.Errorf("summary page: %d, does not list %s", resp.StatusCode, wr.Number)
	}
}
