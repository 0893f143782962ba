package worker

import (
	"context"
	"fmt"

	"github.com/webhookd/webhookd/control"
)

// startControl starts the control plane (CONTRACT.md section 6) on this worker's connection:
// a responder in the queue group all replicas share, whose resends take the pipeline's
// delivery path (w.deliverer). A configuration change it makes is loaded by this replica at
// once (Nudge); the others see the store's config version move within their poll interval.
func (w *Worker) startControl(ctx context.Context) error {
	r, err := control.Start(ctx, control.Options{
		Conn:           w.nc,
		Store:          w.store,
		Deliverer:      w.deliverer,
		Numbers:        w.recorder.Number,
		OnConfigChange: w.catalog.Nudge,
		Metrics:        w.metrics,
		Log:            w.log.With("component", "control"),
		Now:            w.opts.Now,
	})
	if err != nil {
		return fmt.Errorf("start control plane: %w", err)
	}
	w.control = r
	return nil
}

// stopControl drains the control subscription and waits for commands in progress.
func (w *Worker) stopControl(ctx context.Context) {
	if w.control != nil {
		w.control.Stop(ctx)
		w.control = nil
	}
}
