// Package worker is webhookd's worker process as a library: Run(ctx, opts) starts everything
// (NATS, embedded or not; the store; the consumers; the HTTP endpoints) and stops it gracefully
// when ctx ends. Only cmd/webhookd touches OS signals and the process's registry, so a whole
// worker runs inside a test.
//
// Where an event goes:
//
//  1. fanout.go: a message from CRM_EVENTS is validated (invalid: stored in invalid_events,
//     acknowledged) and matched against the rules (rules.Index): one delivery per (event, rule,
//     definition). A delivery whose definition has a free max_in_flight slot (gate.go) and whose
//     last attempt did not fail gets its first attempt at once, in the fan-out, through the
//     deliverer; the others are published to WEBHOOKD_DELIVERIES as tasks, with Nats-Msg-Id set
//     to their webhook-id. The event is acknowledged once each delivery is finished and stored,
//     or its task acknowledged by JetStream.
//  2. deliver.go: the one delivery path. A definition's consumer hands a queued task to the
//     deliverer, which waits for the definition's gate (rate limit, max_in_flight), makes one
//     HTTP attempt (package delivery), counts it and decides: success or rejection write the
//     webhook request (recorder.go, batched) and then acknowledge; a retry publishes the next
//     attempt's task with its not-before time and acknowledges this one. A task that is not
//     due yet goes back with a delayed nak until it is, in its own definition's consumer only.
//     Messages being worked on are kept in progress by one keeper (keeper.go).
//  3. health.go: outcomes feed endpoint health, which may deactivate a definition.
//  4. catalog.go: definitions and rules, reloaded from the store within a second of a change.
package worker
