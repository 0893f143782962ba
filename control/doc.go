// Package control is webhookd's control plane (CONTRACT.md section 6): a NATS request/reply
// responder on crm.webhooks.control.<command>, answered by one replica of a queue group, with
// the commands operators use to find, resend and delete webhook requests and to manage webhook
// definitions and workflow rules. The protocol itself (subjects, request and result types, error
// codes, progress messages) and a Client are in control/controlapi, which clients such as
// webhookctl import without linking this server side.
//
// Every reply is {"ok":true,"result":{...}} or {"ok":false,"error":{"code","message"}}. Checks
// run in the contract's order: UNKNOWN_COMMAND (a subject that names no command), BAD_REQUEST
// (an empty or oversized body, not a JSON object, a known field of the wrong type or with a
// value out of range), USER_REQUIRED (mutating commands), then the command's own codes. A store
// failure is INTERNAL, and so is a panic in a handler, which is recovered per message.
//
// Bulk work by filter (delete and resend) pages through the store with a descending sequence
// cursor, so its memory is bounded and requests that arrive while it runs are left alone;
// resends, by filter or by numbers, run a bounded number at a time. A request that asks for it
// with "progress":true gets progress messages, {"progress":{"done":N,"total":M}}, on its reply
// subject before the final reply (see docs/control-protocol.md, "Progress messages").
//
// Resend safety: a request is claimed in the store before its attempt is sent, and the outcome
// is written under that claim (storage's CompleteResendSuccess replaces the rejected request by
// its replacement atomically). Two resends of one request at once therefore produce one
// attempt and one outcome; a crash leaves the claim to expire, after which a later resend sends
// again with the same webhook-id, which receivers deduplicate.
//
// The attempt itself is not made here: a Deliverer makes it, and in webhookd that is the
// worker's delivery path, the one the pipeline's attempts take, so a resend is signed,
// classified, counted, fed to endpoint health (a 410 deactivates the definition) and logged by
// the same code. The responder adds what only a resend has: the claim, the replacement's number,
// resent_from and the user.
package control
