// Package metrics defines every Prometheus metric webhookd exports (CONTRACT.md section 7 and the
// extensions; docs/operations.md lists them all). Metrics are registered on a Registerer the
// caller owns, never the global one, so a whole worker can run inside a test. Labels come from
// bounded sets: definition and rule ids, outcomes, error codes; never URLs, entity ids or error
// text.
package metrics

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
)

// Label values.
const (
	EventMatched   = "matched"
	EventUnmatched = "unmatched"
	EventInvalid   = "invalid"

	OutcomeSuccess  = "success"
	OutcomeRetry    = "retry"
	OutcomeRejected = "rejected"

	ResultOK    = "ok"
	ResultError = "error"

	// Collections of the storage metrics' collection label.
	CollectionRequests      = "webhook_requests"
	CollectionInvalidEvents = "invalid_events"
)

// Metrics holds the collectors. The zero value is not usable; use New.
type Metrics struct {
	Events              *prometheus.CounterVec
	DeliveryAttempts    *prometheus.CounterVec
	DeliveryDuration    *prometheus.HistogramVec
	RequestsLogged      *prometheus.CounterVec
	ControlCommands     *prometheus.CounterVec
	ConsumerPending     *prometheus.GaugeVec
	ConsumerAckPending  *prometheus.GaugeVec
	DeliveriesScheduled *prometheus.CounterVec
	DeliveriesInFlight  *prometheus.GaugeVec
	RetriesScheduled    *prometheus.CounterVec
	DeliveryErrors      *prometheus.CounterVec
	DefinitionsDisabled *prometheus.CounterVec
	ConditionErrors     *prometheus.CounterVec
	StorageWriteSeconds *prometheus.HistogramVec
	StorageBatchSize    *prometheus.HistogramVec
	StorageErrors       *prometheus.CounterVec
	ConfigReloads       *prometheus.CounterVec
	ActiveRules         prometheus.Gauge
	ActiveDefinitions   prometheus.Gauge
	NATSConnected       prometheus.Gauge
	StoreUp             prometheus.Gauge
	BuildInfo           *prometheus.GaugeVec
	SecretsStale        prometheus.Gauge
}

// New creates the metrics and registers them on reg.
func New(reg prometheus.Registerer, version string) *Metrics {
	m := &Metrics{
		Events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webhookd_events_total",
			Help: "Entity change events consumed, by result: matched (at least one delivery), unmatched, invalid.",
		}, []string{"result"}),
		DeliveryAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webhookd_delivery_attempts_total",
			Help: "HTTP delivery attempts by webhook definition and outcome (success, retry, rejected).",
		}, []string{"webhook_definition", "outcome"}),
		DeliveryDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "webhookd_delivery_duration_seconds",
			Help:    "Duration of HTTP delivery attempts, from sending the request to reading the response.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"webhook_definition"}),
		RequestsLogged: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webhookd_requests_logged_total",
			Help: "Webhook request documents written, by state.",
		}, []string{"state"}),
		ControlCommands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webhookd_control_commands_total",
			Help: "Control commands answered, by command and result.",
		}, []string{"command", "result"}),
		ConsumerPending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "webhookd_consumer_pending_messages",
			Help: "Messages in the stream not yet delivered to the consumer (consumer lag).",
		}, []string{"consumer"}),
		ConsumerAckPending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "webhookd_consumer_ack_pending_messages",
			Help: "Messages delivered to the consumer and not yet acknowledged (in progress or waiting for a retry).",
		}, []string{"consumer"}),
		DeliveriesScheduled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webhookd_deliveries_scheduled_total",
			Help: "Deliveries created from matched events, by webhook definition.",
		}, []string{"webhook_definition"}),
		DeliveriesInFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "webhookd_deliveries_in_flight",
			Help: "HTTP attempts in progress, by webhook definition.",
		}, []string{"webhook_definition"}),
		RetriesScheduled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webhookd_delivery_retries_scheduled_total",
			Help: "Retries scheduled (durably, through JetStream) after a failed attempt, by webhook definition.",
		}, []string{"webhook_definition"}),
		DeliveryErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webhookd_delivery_errors_total",
			Help: "Failed delivery attempts by webhook definition and error code.",
		}, []string{"webhook_definition", "error_code"}),
		DefinitionsDisabled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webhookd_definitions_disabled_total",
			Help: "Webhook definitions deactivated by endpoint health (410 Gone, or failing for disable_after).",
		}, []string{"webhook_definition"}),
		ConditionErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webhookd_rule_condition_errors_total",
			Help: "CEL condition evaluations that failed (counted as false), by workflow rule.",
		}, []string{"workflow_rule"}),
		StorageWriteSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "webhookd_storage_write_duration_seconds",
			Help:    "Duration of batched writes to the store, by collection.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"collection"}),
		StorageBatchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "webhookd_storage_batch_size",
			Help:    "Documents per batched write to the store, by collection.",
			Buckets: []float64{1, 2, 5, 10, 25, 50, 100, 250, 500},
		}, []string{"collection"}),
		StorageErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webhookd_storage_errors_total",
			Help: "Failed writes to the store, by collection.",
		}, []string{"collection"}),
		ConfigReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "webhookd_config_reloads_total",
			Help: "Reloads of definitions and rules from the store, by result.",
		}, []string{"result"}),
		ActiveRules: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "webhookd_workflow_rules_active",
			Help: "Active workflow rules loaded.",
		}),
		ActiveDefinitions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "webhookd_webhook_definitions_active",
			Help: "Active webhook definitions loaded.",
		}),
		NATSConnected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "webhookd_nats_connected",
			Help: "1 when the NATS connection is up.",
		}),
		StoreUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "webhookd_store_up",
			Help: "1 when the last ping of the store (MongoDB or the standalone store) succeeded.",
		}),
		SecretsStale: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "webhookd_secrets_stale",
			Help: "Webhook definitions whose stored secrets are not (yet) encrypted under the first key of --secrets-key-file, after the last re-encryption.",
		}),
		BuildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "webhookd_build_info",
			Help: "Always 1; labels carry the version and the Go version.",
		}, []string{"version", "goversion"}),
	}
	reg.MustRegister(m.Events, m.DeliveryAttempts, m.DeliveryDuration, m.RequestsLogged,
		m.ControlCommands, m.ConsumerPending, m.ConsumerAckPending, m.DeliveriesScheduled,
		m.DeliveriesInFlight, m.RetriesScheduled, m.DeliveryErrors, m.DefinitionsDisabled,
		m.ConditionErrors, m.StorageWriteSeconds, m.StorageBatchSize, m.StorageErrors,
		m.ConfigReloads, m.ActiveRules, m.ActiveDefinitions, m.NATSConnected, m.StoreUp, m.BuildInfo,
		m.SecretsStale)

	// Series start at zero so dashboards draw a flat line rather than a gap.
	for _, r := range []string{EventMatched, EventUnmatched, EventInvalid} {
		m.Events.WithLabelValues(r)
	}
	for _, s := range []string{"successful", "rejected"} {
		m.RequestsLogged.WithLabelValues(s)
	}
	for _, r := range []string{ResultOK, ResultError} {
		m.ConfigReloads.WithLabelValues(r)
	}
	for _, c := range []string{CollectionRequests, CollectionInvalidEvents} {
		m.StorageErrors.WithLabelValues(c)
	}
	m.BuildInfo.WithLabelValues(version, runtime.Version()).Set(1)
	return m
}

// InitDefinition creates a definition's series at zero, the error series for each of the
// given (non-HTTP) error codes too.
func (m *Metrics) InitDefinition(id string, errorCodes ...string) {
	for _, c := range errorCodes {
		m.DeliveryErrors.WithLabelValues(id, c)
	}
	for _, o := range []string{OutcomeSuccess, OutcomeRetry, OutcomeRejected} {
		m.DeliveryAttempts.WithLabelValues(id, o)
	}
	m.DeliveryDuration.WithLabelValues(id)
	m.DeliveriesScheduled.WithLabelValues(id)
	m.DeliveriesInFlight.WithLabelValues(id)
	m.RetriesScheduled.WithLabelValues(id)
	m.DefinitionsDisabled.WithLabelValues(id)
}

// ForgetDefinition removes a deleted definition's series, so label sets stay bounded.
func (m *Metrics) ForgetDefinition(id string) {
	for _, v := range []*prometheus.MetricVec{m.DeliveryAttempts.MetricVec, m.DeliveryDuration.MetricVec,
		m.DeliveriesScheduled.MetricVec, m.DeliveriesInFlight.MetricVec, m.RetriesScheduled.MetricVec,
		m.DeliveryErrors.MetricVec, m.DefinitionsDisabled.MetricVec} {
		v.DeletePartialMatch(prometheus.Labels{"webhook_definition": id})
	}
}

// InitRule creates the condition error series of a workflow rule that has a condition at zero
// (a rule without one can never count there).
func (m *Metrics) InitRule(id string) { m.ConditionErrors.WithLabelValues(id) }

// ForgetRule removes the series of a rule that is gone or has no condition any more.
func (m *Metrics) ForgetRule(id string) {
	m.ConditionErrors.DeletePartialMatch(prometheus.Labels{"workflow_rule": id})
}

// InitCommands creates the control command series at zero.
func (m *Metrics) InitCommands(commands []string) {
	for _, c := range commands {
		m.ControlCommands.WithLabelValues(c, ResultOK)
		m.ControlCommands.WithLabelValues(c, ResultError)
	}
}
