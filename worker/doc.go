// Package worker is webhookd's worker process as a library: Start(ctx, opts) brings up
// everything (NATS, embedded or not; the store; the --config file; the pipeline; the HTTP
// endpoints, the control plane and the console) and Worker.Stop shuts it down within one
// deadline. Only cmd/webhookd touches OS signals and the process's registry, so a whole worker
// runs inside a test.
//
// The process and the pipeline are apart. This package is the wiring:
//
//   - run.go: Start, which checks the flags, opens NATS and the store, applies --config, builds
//     the stages of package pipeline and starts its services; Stop, the phases of the one
//     shutdown deadline, each service stopped in its phase; /readyz's check.
//   - http.go, console.go, control.go: the HTTP endpoints, the web console (package console),
//     the control plane (package control), whose resends take the pipeline's delivery path.
//   - secrets.go: the key file of the secrets at rest, and their re-encryption.
//   - gauges.go: the gauges sampler (consumer lag, queue depths, NATS and store up), a service.
//   - store.go: the store as the process opens it, for the pipeline, control and the console.
//
// Where an event goes, and where a resend goes, is package pipeline's (its doc says it step
// by step): CRM_EVENTS → pipeline.Events → the fan-out → the delivery path (pipeline.Deliverer)
// → the recorder; a resend: control → pipeline.Deliverer.Redeliver.
package worker
