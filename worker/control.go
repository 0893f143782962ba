package worker

import "context"

// startControl starts the control plane (CONTRACT.md section 6) on this worker's connection.
// Placeholder until package control lands.
func (w *Worker) startControl(ctx context.Context, sender Sender) error { return nil }

// stopControl drains the control subscriptions and waits for commands in progress.
func (w *Worker) stopControl() {}
