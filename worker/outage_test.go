package worker_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the driver the standalone store uses

	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/internal/workertest"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/worker"
)

// TestStoreOutageHoldsWorkAndSaysSoOnce: while the store refuses writes (here another process
// holds the standalone store's write lock, as a backup tool might), deliveries go on, but none
// is acknowledged without its webhook request: they are held and their writes retried.
// webhookd stays up, /readyz says why it is not ready, and the log says so once, not once per
// delivery. When the store takes writes again, every delivery is stored exactly once, without
// a second attempt.
func TestStoreOutageHoldsWorkAndSaysSoOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the store's busy timeout")
	}
	rc := workertest.NewReceiver(t, nil)
	var logs testutil.LogBuffer
	e := workertest.Setup(t, workertest.ConfigOf([]string{workertest.DefinitionYAML("d1", rc.URL, "")}, []string{workertest.RuleYAML("r1", "customer", "d1")}),
		func(o *worker.Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	e.Publish(workertest.Event{ID: "before", Entity: "customer", EntityID: "C", Action: "updated", Data: map[string]any{}})
	e.WaitRequests(1, storage.Filter{})

	// The outage: a transaction of another connection holds the write lock.
	db, err := sql.Open("sqlite", filepath.Join(e.Dir, "webhookd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	lock, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if _, err := lock.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	const n = 10
	for i := range n {
		e.Publish(workertest.Event{ID: fmt.Sprintf("during-%d", i), Entity: "customer", EntityID: "C", Action: "updated", Data: map[string]any{}})
	}
	testutil.Eventually(t, time.Minute, "the deliveries made during the outage", func() bool { return rc.Count() == 1+n })
	testutil.Eventually(t, time.Minute, "the log to say the store fails", func() bool {
		return strings.Contains(logs.String(), "store writes failing")
	})
	status, body := get(t, "http://"+e.W.HTTPAddr()+"/readyz")
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "writes failing") {
		t.Errorf("/readyz during the outage = %d %q, want 503 saying the writes fail", status, body)
	}
	if got := len(e.Requests(storage.Filter{})); got != 1 {
		t.Fatalf("%d webhook requests stored during the outage, want only the one before it", got)
	}

	if _, err := lock.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	reqs := e.WaitRequests(1+n, storage.Filter{})
	seen := map[string]int{}
	for _, r := range reqs {
		seen[r.EventID]++
	}
	for i := range n {
		if id := fmt.Sprintf("during-%d", i); seen[id] != 1 {
			t.Errorf("event %s has %d webhook requests, want 1", id, seen[id])
		}
	}
	if got := rc.Count(); got != 1+n {
		t.Errorf("the receiver got %d attempts, want %d: a held delivery was attempted again", got, 1+n)
	}
	testutil.Eventually(t, time.Minute, "the log to say the store is back", func() bool {
		return strings.Contains(logs.String(), "store writes succeed again")
	})
	testutil.Eventually(t, 30*time.Second, "/readyz to be ready again", func() bool {
		status, _ := get(t, "http://"+e.W.HTTPAddr()+"/readyz")
		return status == http.StatusOK
	})
	if c := strings.Count(logs.String(), "store writes failing"); c != 1 {
		t.Errorf("the outage was logged %d times, want once:\n%s", c, logs.String())
	}
	_, during, _ := strings.Cut(logs.String(), "store writes failing")
	if c := strings.Count(during, "level=WARN") + strings.Count(during, "level=ERROR"); c != 0 {
		t.Errorf("%d more warnings and errors during the outage, want none beyond its one line:\n%s", c, logs.String())
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, readAll(resp)
}
