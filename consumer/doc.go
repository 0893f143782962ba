// Package consumer is webhookd's side of JetStream: it binds the streams, keeps the durable
// consumers, pulls messages with bounded concurrency and turns each handler's Decision into the
// one JetStream acknowledgement that fits it.
//
// Two streams carry the work:
//
//   - CRM_EVENTS (crm.events.>), owned by upstream: one durable pull consumer, "webhookd-events",
//     shared by every replica. An event is acknowledged only after all of its deliveries are
//     durably published to WEBHOOKD_DELIVERIES (or after an invalid event is stored).
//   - WEBHOOKD_DELIVERIES (webhookd.deliveries.<definition id>), webhookd's own work queue: one
//     durable consumer per webhook definition. Each definition is pulled at its own pace, limited
//     by its max_in_flight, and a delivery waiting for its next retry is held by its own
//     definition's consumer only, so a receiver that has been down for hours, with thousands of
//     retries parked, never takes a slot from a healthy one (a single consumer's MaxAckPending
//     would be shared by all of them).
package consumer
