// Package worker is webhookd's worker process as a library: Run(ctx, opts) starts everything
// (NATS, embedded or not; the store; the consumers; the HTTP endpoints) and stops it gracefully
// when ctx ends. Only cmd/webhookd touches OS signals and the process's registry, so a whole
// worker runs inside a test.
//
// Where an event goes:
//
//  1. fanout.go: a message from CRM_EVENTS is validated (invalid: stored in invalid_events,
//     acknowledged), matched against the rules (rules.Index), and one delivery task per
//     (event, rule, definition) is published to WEBHOOKD_DELIVERIES with Nats-Msg-Id set to its
//     webhook-id; the event is acknowledged once every publish is acknowledged by JetStream.
//  2. deliver.go: a definition's consumer hands a task to the deliverer, which waits for the
//     definition's rate limit, makes one HTTP attempt (package delivery) and decides: success or
//     rejection write the webhook request (recorder.go, batched) and then acknowledge; a retry
//     publishes the next attempt's task with its not-before time and acknowledges this one. A
//     task that is not due yet goes back with NakWithDelay until it is, in its own
//     definition's consumer only.
//  3. health.go: outcomes feed endpoint health, which may deactivate a definition.
//  4. catalog.go: definitions and rules, reloaded from the store within a second of a change.
package worker
