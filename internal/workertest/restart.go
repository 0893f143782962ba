package workertest

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/worker"
)

// ConfigFileAtRestart: every replica applies --config at every start. The same file again changes
// nothing (no reload on a rolling restart, a deactivated definition stays deactivated); a
// changed entry is applied. tweak chooses the store (the worker's tests run it standalone, the
// tests on MongoDB with a MongoDB URI).
func ConfigFileAtRestart(t *testing.T, tweak ...func(*worker.Options)) {
	rc := NewReceiver(t, func(int, *http.Request) int { return http.StatusGone })
	cfg := ConfigOf([]string{DefinitionYAML("d1", rc.URL, `    headers: {X-A: "1"}
    fields_set: {name: basic, fields: [a]}`), DefinitionYAML("d2", "https://example.com/a", "")},
		[]string{RuleYAML("r1", "customer", "d1") + "\n    actions: [updated]", RuleYAML("r2", "order", "d2")})
	e := Setup(t, cfg, tweak...)
	e.Publish(Event{ID: "ev-gone", Entity: "customer", EntityID: "C", Action: "updated", Data: map[string]any{}})
	ctx := context.Background()
	// Deactivating writes the definition, then moves the config version (two writes on MongoDB).
	testutil.Eventually(t, 30*time.Second, "d1 deactivated by its 410", func() bool {
		d, err := e.Store.GetDefinition(ctx, "d1")
		v, verr := e.Store.ConfigVersion(ctx)
		return err == nil && verr == nil && !d.Active && v >= 2
	})
	before, err := e.Store.ConfigVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.Stop()
	e.Start()
	if after, _ := e.Store.ConfigVersion(ctx); after != before {
		t.Errorf("config version moved from %d to %d on a restart with the same file", before, after)
	}
	if d, _ := e.Store.GetDefinition(ctx, "d1"); d.Active || d.DisabledReason == "" {
		t.Errorf("restart with the same --config reactivated d1: %+v", d)
	}

	changed := strings.Replace(cfg, "https://example.com/a", "https://example.com/b", 1)
	if err := os.WriteFile(e.Opts.ConfigFile, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	e.Stop()
	e.Start()
	if d, _ := e.Store.GetDefinition(ctx, "d2"); d.URL != "https://example.com/b" {
		t.Errorf("changed entry not applied: d2 url = %s", d.URL)
	}
	if d, _ := e.Store.GetDefinition(ctx, "d1"); d.Active {
		t.Error("an unchanged, deactivated entry was reactivated by another entry's change")
	}
}
