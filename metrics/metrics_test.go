package metrics_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/webhookd/webhookd/metrics"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The contract's metrics exist with their exact names and labels, at zero before anything happens.
func TestContractMetricsStartAtZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, "1.2.3")
	m.InitDefinition("erp-sync")
	m.InitCommands([]string{"requests.list"})
	m.ConsumerPending.WithLabelValues("webhookd-events").Set(0)

	want := map[string][]string{
		"webhookd_events_total":              {"result"},
		"webhookd_delivery_attempts_total":   {"outcome", "webhook_definition"},
		"webhookd_delivery_duration_seconds": {"webhook_definition"},
		"webhookd_requests_logged_total":     {"state"},
		"webhookd_control_commands_total":    {"command", "result"},
		"webhookd_consumer_pending_messages": {"consumer"},
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, f := range families {
		var labels []string
		for _, l := range f.GetMetric()[0].GetLabel() {
			labels = append(labels, l.GetName())
		}
		got[f.GetName()] = labels
	}
	for name, labels := range want {
		if strings.Join(got[name], ",") != strings.Join(labels, ",") {
			t.Errorf("%s labels = %v, want %v", name, got[name], labels)
		}
	}
	if n := testutil.CollectAndCount(m.Events); n != 3 {
		t.Errorf("events_total has %d series, want 3 (matched, unmatched, invalid at zero)", n)
	}
	if n := testutil.CollectAndCount(m.DeliveryAttempts); n != 3 {
		t.Errorf("delivery_attempts_total has %d series for one definition, want 3 outcomes", n)
	}
	if v := testutil.ToFloat64(m.BuildInfo.WithLabelValues("1.2.3", goVersion(t, reg))); v != 1 {
		t.Errorf("build_info = %v", v)
	}
}

func goVersion(t *testing.T, reg *prometheus.Registry) string {
	families, _ := reg.Gather()
	for _, f := range families {
		if f.GetName() == "webhookd_build_info" {
			for _, l := range f.GetMetric()[0].GetLabel() {
				if l.GetName() == "goversion" {
					return l.GetValue()
				}
			}
		}
	}
	t.Fatal("no build_info")
	return ""
}

func TestForgetDefinitionDropsItsSeries(t *testing.T) {
	m := metrics.New(prometheus.NewRegistry(), "dev")
	m.InitDefinition("a")
	m.InitDefinition("b")
	m.DeliveryErrors.WithLabelValues("a", "HTTP_500").Inc()
	m.ForgetDefinition("a")
	if n := testutil.CollectAndCount(m.DeliveryAttempts); n != 3 {
		t.Errorf("%d attempt series left, want 3 (definition b only)", n)
	}
	if n := testutil.CollectAndCount(m.DeliveryErrors); n != 0 {
		t.Errorf("%d error series left for a forgotten definition", n)
	}
}

// The storage error series start at zero for each collection written; a rule's condition error
// series is created and forgotten with it.
func TestStorageAndRuleSeriesStartAtZero(t *testing.T) {
	t.Parallel()
	m := metrics.New(prometheus.NewRegistry(), "dev")
	for _, c := range []string{metrics.CollectionRequests, metrics.CollectionInvalidEvents} {
		if v := testutil.ToFloat64(m.StorageErrors.WithLabelValues(c)); v != 0 {
			t.Errorf("storage errors of %s = %v", c, v)
		}
	}
	if n := testutil.CollectAndCount(m.StorageErrors); n != 2 {
		t.Errorf("%d storage error series, want 2", n)
	}
	m.InitRule("r1")
	m.InitRule("r2")
	m.ForgetRule("r1")
	if n := testutil.CollectAndCount(m.ConditionErrors); n != 1 {
		t.Errorf("%d condition error series, want 1 (r2)", n)
	}
}

func TestTwoRegistriesDoNotCollide(t *testing.T) {
	// Two workers in one process (tests, or replicas in one binary) each own their registry.
	metrics.New(prometheus.NewRegistry(), "dev")
	metrics.New(prometheus.NewRegistry(), "dev")
}
