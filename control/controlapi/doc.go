// Package controlapi is the protocol of webhookd's control messages (CONTRACT.md section 6;
// docs/control-protocol.md): the subjects and commands, the request and result types, the
// error codes, progress messages, a Client, and the notice of a deactivated definition
// (SubjectDefinitionDisabled). It depends on the NATS client and on webhookd's domain types
// (config, storage) only, never on the server side (the Responder in package control, the
// stores, delivery, metrics), so a client such as webhookctl links none of it.
//
// Every reply is {"ok":true,"result":{...}} or {"ok":false,"error":{"code","message"}}; the
// codes are the constants of type Code.
package controlapi
