// Package fakedeliverer is a control.Deliverer for the tests that run the control plane without
// a worker (webhookctl's, the console's, control's own, and the control plane's suite on
// MongoDB): a resend's attempt is made by the real HTTP client (package delivery), so receivers
// see real, signed requests, and a success is logged by a plain copy of the rejected request.
// It counts nothing and keeps no endpoint health. The real one, the worker's delivery path, is
// what the worker's tests and the suite they run (internal/controltest) check.
package fakedeliverer

import (
	"context"
	"testing"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/control"
	"github.com/webhookd/webhookd/delivery"
	"github.com/webhookd/webhookd/storage"
)

var _ control.Deliverer = (*Deliverer)(nil)

// Deliverer makes each attempt with a delivery.Client that may reach loopback receivers.
type Deliverer struct {
	client *delivery.Client
}

// New returns a Deliverer whose idle connections are closed when the test ends.
func New(t testing.TB) *Deliverer {
	c := delivery.NewClient(delivery.Options{AllowPrivateNetworks: true, UserAgent: "webhookd/test"})
	t.Cleanup(c.CloseIdleConnections)
	return &Deliverer{client: c}
}

// Redeliver sends wr's stored body to def under wr's webhook-id and, on success, returns a copy
// of wr as a successful request of def.
func (d *Deliverer) Redeliver(ctx context.Context, def *config.Definition, wr *storage.WebhookRequest) (delivery.Result, *storage.WebhookRequest) {
	res := d.client.Send(ctx, delivery.Attempt{
		WebhookID: wr.WebhookID, Method: def.Method, URL: def.URL, Headers: def.Headers,
		SecretKey: def.SecretKey, Body: []byte(wr.Request.Body), Timeout: def.Timeout.D(),
	})
	if res.Outcome != delivery.Success {
		return res, nil
	}
	n := *wr
	n.State = storage.StateSuccessful
	n.URL, n.SecretKey = def.URL, def.SecretKey
	n.Request, n.Response = res.Request, res.Response
	n.WebhookDefinition = storage.Ref{ID: def.ID, Name: def.Name}
	n.Attempts = wr.Attempts + 1
	n.ErrorCode, n.ErrorDescription = "", ""
	return res, n.Mask()
}
