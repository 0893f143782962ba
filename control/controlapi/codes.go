package controlapi

// Code is an error code of webhookd's external contract: the code of an error reply, the
// error_code of a resend result, and the error_code of a webhook request that webhookd
// rejected without an attempt. Every code webhookd itself decides is a constant here, defined
// once: the control plane, the worker and webhookctl use these. The codes of an HTTP attempt
// (HTTP_<status>, TIMEOUT, CONNECTION_FAILED, …) come from package delivery; in a resend result
// they are carried as a Code too.
type Code string

// Codes of error replies (docs/control-protocol.md, "Error codes").
const (
	CodeBadRequest      Code = "BAD_REQUEST"
	CodeUserRequired    Code = "USER_REQUIRED"
	CodeNotFound        Code = "NOT_FOUND"
	CodeFilterRequired  Code = "FILTER_REQUIRED"
	CodeInvalidConfig   Code = "INVALID_CONFIG"
	CodeDefinitionInUse Code = "DEFINITION_IN_USE"
	CodeInternal        Code = "INTERNAL"
	CodeUnknownCommand  Code = "UNKNOWN_COMMAND"
	CodeInterrupted     Code = "INTERRUPTED" // bulk work stopped because webhookd is shutting down
	CodeUnavailable     Code = "UNAVAILABLE" // webhookd is shutting down and takes no new command
)

// Codes of a resend result's failed outcome, besides NOT_FOUND, INTERNAL and INTERRUPTED.
const (
	CodeNotRejected      Code = "NOT_REJECTED"       // the request is not rejected
	CodeResendInProgress Code = "RESEND_IN_PROGRESS" // another resend holds the claim
	CodeClaimLost        Code = "CLAIM_LOST"         // the claim expired before the outcome was stored
)

// Codes of a delivery that was not attempted. They are the error_code of the webhook request
// the worker stores as rejected, and DEFINITION_NOT_FOUND and DEFINITION_INACTIVE are also
// a resend's failed outcome.
const (
	CodeDefinitionNotFound Code = "DEFINITION_NOT_FOUND"
	CodeDefinitionInactive Code = "DEFINITION_INACTIVE"
	CodePayloadTooLarge    Code = "PAYLOAD_TOO_LARGE" // the delivery does not fit the NATS server's max_payload
	CodeQueueFull          Code = "QUEUE_FULL"        // the definition already has max_queued deliveries queued
)
