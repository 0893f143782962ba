// Package deactivate switches a webhook definition off for endpoint health and announces it
// (CONTRACT.md section 3). The worker does it after a 410 or a definition failing for its
// disable_after; the control plane after a 410 to a resend. One mechanism for both, so the
// notice, the metric and the store write cannot drift apart.
package deactivate

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/metrics"
)

// GoneReason is the disabled_reason of a definition whose receiver answered 410 Gone.
const GoneReason = "the receiver answered 410 Gone"

// Store is what deactivating needs of a store.
type Store interface {
	DisableDefinition(ctx context.Context, id, reason string, at time.Time) (bool, error)
}

// Deps are what a deactivation writes to. Metrics may be nil.
type Deps struct {
	Store   Store
	Conn    *nats.Conn
	Metrics *metrics.Metrics
	Log     *slog.Logger
}

// Definition deactivates def for reason and, when this call is the one that did it (not an
// earlier one, nor another replica), counts it and announces it on
// controlapi.SubjectDefinitionDisabled. It reports whether it did.
// A failed announcement is logged: the store write is what counts. The time is kept to the
// millisecond, as the stores keep it, so the notice and disabled_at say the same.
func Definition(ctx context.Context, d Deps, def *config.Definition, reason string, at time.Time) (bool, error) {
	at = at.Truncate(time.Millisecond)
	changed, err := d.Store.DisableDefinition(ctx, def.ID, reason, at)
	if err != nil {
		return false, fmt.Errorf("deactivate webhook definition %s: %w", def.ID, err)
	}
	if !changed {
		return false, nil
	}
	if d.Metrics != nil {
		d.Metrics.DefinitionsDisabled.WithLabelValues(def.ID).Inc()
	}
	d.Log.Warn("webhook definition deactivated", "webhook_definition", def.ID, "reason", reason)
	b, err := json.Marshal(controlapi.DefinitionDisabled{ID: def.ID, Name: def.Name, Reason: reason, Time: at})
	if err == nil {
		err = d.Conn.Publish(controlapi.SubjectDefinitionDisabled, b)
	}
	if err != nil {
		d.Log.Warn("announce deactivated definition", "webhook_definition", def.ID, "error", err)
	}
	return true, nil
}
