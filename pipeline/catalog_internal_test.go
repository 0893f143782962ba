package pipeline

import (
	"context"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/metrics"
)

// configStore is a fake of the worker's Store that serves a configuration.
type configStore struct {
	Store   // only the methods below are used
	version int64
	defs    []config.Definition
	rules   []config.Rule
}

func (s *configStore) ConfigVersion(context.Context) (int64, error) { return s.version, nil }
func (s *configStore) ListDefinitions(context.Context) ([]config.Definition, error) {
	return s.defs, nil
}
func (s *configStore) ListRules(context.Context) ([]config.Rule, error) { return s.rules, nil }

// Dashboards draw a flat line for every series that can move, and none for those that cannot:
// the condition error series of each rule with a condition, and the error codes of an attempt
// but CANCELED (shutdown hands such an attempt back uncounted).
func TestCatalogInitialisesTheSeriesThatCanMove(t *testing.T) {
	t.Parallel()
	def := config.Defaults()
	def.ID, def.Name, def.URL, def.SecretKey = "erp", "ERP", "https://erp.example.com/hooks", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	rule := func(id, cond string) config.Rule {
		return config.Rule{ID: id, Name: id, Entity: "customer", Condition: cond, WebhookDefinitions: []string{"erp"}, Active: true}
	}
	store := &configStore{version: 1, defs: []config.Definition{def},
		rules: []config.Rule{rule("with", `event.data.status == "active"`), rule("without", "")}}
	m := metrics.New(prometheus.NewRegistry(), "test")
	cat := NewCatalog(store, m, slog.New(slog.DiscardHandler))
	if _, err := cat.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(m.ConditionErrors); n != 1 {
		t.Errorf("%d condition error series, want 1 (the rule with a condition)", n)
	}
	if v := testutil.ToFloat64(m.ConditionErrors.WithLabelValues("with")); v != 0 {
		t.Errorf("condition errors of rule with = %v, want 0", v)
	}
	for _, code := range errorCodes {
		if code == "CANCELED" {
			t.Errorf("the CANCELED series is created, but nothing can count there")
		}
	}
	if n := testutil.CollectAndCount(m.DeliveryErrors); n != len(errorCodes) {
		t.Errorf("%d delivery error series, want %d", n, len(errorCodes))
	}

	// The condition goes: so does its series.
	store.version, store.rules = 2, []config.Rule{rule("with", ""), rule("without", "")}
	if _, err := cat.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(m.ConditionErrors); n != 0 {
		t.Errorf("%d condition error series after the condition was removed, want 0", n)
	}
}
