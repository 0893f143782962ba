package pipeline_test

import (
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/webhookd/webhookd/control"
	"github.com/webhookd/webhookd/internal/controltest"
	"github.com/webhookd/webhookd/metrics"
	"github.com/webhookd/webhookd/pipeline"
	"github.com/webhookd/webhookd/storage/storagetest"
)

// TestControlOnSQLite runs the control plane's suite (internal/controltest) on SQLite with the
// pipeline's delivery path, the one webhookd's resends take: every resend of the suite is made,
// counted, fed to endpoint health and logged as the pipeline's attempts are.
func TestControlOnSQLite(t *testing.T) {
	st := controltest.SQLite
	st.Deliverer = func(t testing.TB, s storagetest.Store, nc *nats.Conn, m *metrics.Metrics) control.Deliverer {
		return pipeline.NewTestDeliverer(t, s, nc, m)
	}
	controltest.Run(t, st)
}
