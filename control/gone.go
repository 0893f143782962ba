package control

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/delivery"
)

// NoticeDefinitionDisabled is where a deactivated definition is announced (CONTRACT.md
// section 3). The worker announces its own deactivations on the same subject with the same
// JSON; control cannot import the worker, so the two are kept equal by tests.
const NoticeDefinitionDisabled = "crm.webhooks.notices.definition_disabled"

// DisabledNotice is the JSON published on NoticeDefinitionDisabled.
type DisabledNotice struct {
	ID     string    `json:"id"`
	Name   string    `json:"name"`
	Reason string    `json:"reason"`
	Time   time.Time `json:"time"`
}

// goneReason is the disabled_reason of a definition whose receiver answered 410, the same
// words the worker uses.
const goneReason = "the receiver answered 410 Gone"

// disableIfGone deactivates def when a resend attempt got 410 Gone: the contract makes any 410
// answer deactivate the definition, and a resend is an attempt like any other. It runs after
// the outcome is stored, under its own timeout, so that a failure here never changes the
// resend's outcome; it is logged instead.
func (r *Responder) disableIfGone(ctx context.Context, def *config.Definition, res delivery.Result) {
	if res.Response == nil || res.Response.Status != http.StatusGone {
		return
	}
	at := r.o.Now().UTC()
	changed, err := r.o.Store.DisableDefinition(ctx, def.ID, goneReason, at)
	if err != nil {
		r.o.Log.Error("deactivate webhook definition", "webhook_definition", def.ID, "error", err)
		return
	}
	if !changed {
		return // already inactive, or a replica got there first and announced it
	}
	if r.o.Metrics != nil {
		r.o.Metrics.DefinitionsDisabled.WithLabelValues(def.ID).Inc()
	}
	r.o.Log.Warn("webhook definition deactivated", "webhook_definition", def.ID, "reason", goneReason)
	b, err := json.Marshal(DisabledNotice{ID: def.ID, Name: def.Name, Reason: goneReason, Time: at})
	if err == nil {
		err = r.nc.Publish(NoticeDefinitionDisabled, b)
	}
	if err != nil {
		r.o.Log.Warn("announce deactivated definition", "webhook_definition", def.ID, "error", err)
	}
	r.o.OnConfigChange()
}
