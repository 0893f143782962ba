// Package pipeline holds the stages an event goes through, from CRM_EVENTS to its webhook
// requests; package worker opens what they need (NATS, the store) and starts and stops them.
//
// Where an event goes:
//
//  1. events.go, fanout.go: a message from CRM_EVENTS (the events consumer, Events) is validated
//     (invalid: stored in invalid_events, acknowledged) and matched against the rules
//     (rules.Index): one delivery per (event, rule, definition). A delivery whose definition has
//     a free max_in_flight slot (gate.go) and whose last attempt did not fail gets its first
//     attempt at once, in the fan-out, through the deliverer; the others are published to
//     WEBHOOKD_DELIVERIES as tasks (task.go), with Nats-Msg-Id set to their webhook-id. The event
//     is acknowledged once each delivery is finished and stored, or its task acknowledged by
//     JetStream. max_queued is checked against each definition's depth (queued.go).
//  2. deliver.go: the one delivery path. A definition's consumer (pools.go; it runs while the
//     definition has deliveries queued) hands a queued task to the deliverer, which waits for
//     the definition's gate (rate limit, max_in_flight), makes one HTTP attempt (package
//     delivery), counts it and decides: success or rejection write the webhook request
//     (recorder.go, batch.go) and then acknowledge; a retry publishes the next attempt's task
//     with its not-before time and acknowledges this one. A task that is not due yet goes back
//     with a delayed nak until it is, in its own definition's consumer only.
//     Messages being worked on are kept in progress by one keeper (keeper.go). The store's
//     writes and the queueing of deliveries are followed by storehealth.go, so an outage is
//     said once and seen by /readyz; standalone, a decision waits for the embedded JetStream to
//     take writes again before it is applied (mend.go).
//  3. health.go: outcomes feed endpoint health, which may deactivate a definition.
//  4. catalog.go: definitions and rules, reloaded from the store within a second of a change.
//
// Where a resend goes: the control plane (package control) calls Deliverer.Redeliver, the same
// attempt, metrics, endpoint health and webhook request as the pipeline's (control.Deliverer).
//
// Each background loop is a service with an idempotent Start(ctx) and a Stop that waits for it
// (internal/startstop): Events, Pools (and its reconciler), Watcher, Keeper, Health's flusher,
// and Recorder's batch writers, whose Stop(ctx) writes the last batch within the deadline.
package pipeline
