// Package event is the entity change event of CONTRACT.md section 2: its envelope, its subject,
// and the validation both the worker (on receipt) and the publisher (before sending) apply.
package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// SubjectPrefix is the first two tokens of every event subject.
const SubjectPrefix = "crm.events."

// StreamName and StreamSubjects are the upstream stream webhookd binds to or creates.
const (
	StreamName     = "CRM_EVENTS"
	StreamSubjects = "crm.events.>"
)

// MaxIDLength bounds an event id, in characters (Unicode code points), as the contract counts
// them: an id of 128 non-ASCII characters is valid although it takes more bytes.
const MaxIDLength = 128

var tokenRE = regexp.MustCompile(`^[a-z0-9_]+$`)

// Event is the body of a message on crm.events.<entity>.<action>.
type Event struct {
	ID         string          `json:"id"`
	Entity     string          `json:"entity"`
	EntityID   string          `json:"entity_id"`
	Action     string          `json:"action"`
	OccurredAt string          `json:"occurred_at"` // kept as received: it is the webhook's timestamp
	Actor      string          `json:"actor,omitempty"`
	Changed    []string        `json:"changed,omitempty"`
	Data       json.RawMessage `json:"data"`
}

// Subject is where the event is published.
func (e *Event) Subject() string { return Subject(e.Entity, e.Action) }

// Subject returns crm.events.<entity>.<action>.
func Subject(entity, action string) string { return SubjectPrefix + entity + "." + action }

// Type is the webhook type, "<entity>.<action>".
func (e *Event) Type() string { return e.Entity + "." + e.Action }

// InvalidError says why a message is not a valid event. Its Reason is meant for people and is
// stored with the invalid event.
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string { return "invalid event: " + e.Reason }

func invalid(format string, args ...any) error {
	return &InvalidError{Reason: fmt.Sprintf(format, args...)}
}

// IsInvalid reports whether err says the event itself is bad (never worth a retry).
func IsInvalid(err error) bool {
	var ie *InvalidError
	return errors.As(err, &ie)
}

// Parse decodes and validates a message body received on subject. Any fault is an *InvalidError.
func Parse(subject string, body []byte) (*Event, error) {
	tokens := strings.Split(subject, ".")
	if len(tokens) != 4 || tokens[0] != "crm" || tokens[1] != "events" {
		return nil, invalid("subject %q must have exactly four tokens: crm.events.<entity>.<action>", subject)
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, invalid("body is not a JSON object: %v", err)
	}
	if raw == nil {
		return nil, invalid("body is not a JSON object")
	}
	if dec.More() {
		return nil, invalid("body has data after the JSON object")
	}
	var ev Event
	if err := str(raw, "id", &ev.ID, true); err != nil {
		return nil, err
	}
	if err := str(raw, "entity", &ev.Entity, true); err != nil {
		return nil, err
	}
	if err := str(raw, "entity_id", &ev.EntityID, true); err != nil {
		return nil, err
	}
	if err := str(raw, "action", &ev.Action, true); err != nil {
		return nil, err
	}
	if err := str(raw, "occurred_at", &ev.OccurredAt, true); err != nil {
		return nil, err
	}
	if err := str(raw, "actor", &ev.Actor, false); err != nil {
		return nil, err
	}
	if v, ok := raw["changed"]; ok && string(v) != "null" {
		if err := json.Unmarshal(v, &ev.Changed); err != nil {
			return nil, invalid("field \"changed\" must be an array of strings")
		}
	}
	data, ok := raw["data"]
	if !ok || len(data) == 0 || data[0] != '{' {
		return nil, invalid("field \"data\" is required and must be a JSON object")
	}
	ev.Data = data
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	if ev.Entity != tokens[2] {
		return nil, invalid("entity %q does not match the subject's entity token %q", ev.Entity, tokens[2])
	}
	if ev.Action != tokens[3] {
		return nil, invalid("action %q does not match the subject's action token %q", ev.Action, tokens[3])
	}
	return &ev, nil
}

// Validate checks the envelope's fields (not the subject).
func (e *Event) Validate() error {
	switch {
	case e.ID == "":
		return invalid("field \"id\" is required")
	case utf8.RuneCountInString(e.ID) > MaxIDLength:
		return invalid("field \"id\" is %d characters, at most %d are allowed", utf8.RuneCountInString(e.ID), MaxIDLength)
	case e.Entity == "":
		return invalid("field \"entity\" is required")
	case !tokenRE.MatchString(e.Entity):
		return invalid("field \"entity\" %q must match [a-z0-9_]+", e.Entity)
	case e.EntityID == "":
		return invalid("field \"entity_id\" is required")
	case e.Action == "":
		return invalid("field \"action\" is required")
	case !tokenRE.MatchString(e.Action):
		return invalid("field \"action\" %q must match [a-z0-9_]+", e.Action)
	case e.OccurredAt == "":
		return invalid("field \"occurred_at\" is required")
	}
	if _, err := time.Parse(time.RFC3339, e.OccurredAt); err != nil {
		return invalid("field \"occurred_at\" %q is not an RFC 3339 time", e.OccurredAt)
	}
	if d := bytes.TrimSpace(e.Data); len(d) == 0 || d[0] != '{' {
		return invalid("field \"data\" is required and must be a JSON object")
	}
	return nil
}

func str(raw map[string]json.RawMessage, name string, dst *string, required bool) error {
	v, ok := raw[name]
	if !ok || string(v) == "null" {
		if required {
			return invalid("field %q is required", name)
		}
		return nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return invalid("field %q must be a string", name)
	}
	return nil
}
