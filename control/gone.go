package control

import (
	"context"
	"net/http"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/delivery"
	"github.com/webhookd/webhookd/internal/deactivate"
)

// disableIfGone deactivates def when a resend attempt got 410 Gone: the contract makes any 410
// answer deactivate the definition, and a resend is an attempt like any other. It runs after
// the outcome is stored, under its own timeout, so that a failure here never changes the
// resend's outcome; it is logged instead.
func (r *Responder) disableIfGone(ctx context.Context, def *config.Definition, res delivery.Result) {
	if res.Response == nil || res.Response.Status != http.StatusGone {
		return
	}
	changed, err := deactivate.Definition(ctx, deactivate.Deps{Store: r.o.Store, Conn: r.nc, Metrics: r.o.Metrics, Log: r.o.Log},
		def, deactivate.GoneReason, r.o.Now().UTC())
	if err != nil {
		r.o.Log.Error("deactivate webhook definition", "webhook_definition", def.ID, "error", err)
		return
	}
	if changed {
		r.o.OnConfigChange()
	}
}
