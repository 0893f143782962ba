package event_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/webhookd/webhookd/event"
)

// referenceParse is Parse as it was before it read the body with jsontext (encoding/json into
// a map of raw values, then one json.Unmarshal a field), kept as the behaviour Parse must
// reproduce: FuzzParse compares the two on every input.
func referenceParse(subject string, body []byte) (*event.Event, error) {
	tokens := strings.Split(subject, ".")
	if len(tokens) != 4 || tokens[0] != "crm" || tokens[1] != "events" {
		return nil, refInvalid("subject %q must have exactly four tokens: crm.events.<entity>.<action>", subject)
	}
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, refInvalid("body is not a JSON object: %v", err)
	}
	if raw == nil {
		return nil, refInvalid("body is not a JSON object")
	}
	// Parse as it was, but for one fix: a stray } or ] after the object, which Decoder.More let
	// through, makes the body invalid too.
	if rest := bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n"); dec.More() || len(rest) > 0 {
		return nil, refInvalid("body has data after the JSON object")
	}
	var ev event.Event
	if err := refStr(raw, "id", &ev.ID, true); err != nil {
		return nil, err
	}
	if err := refStr(raw, "entity", &ev.Entity, true); err != nil {
		return nil, err
	}
	if err := refStr(raw, "entity_id", &ev.EntityID, true); err != nil {
		return nil, err
	}
	if err := refStr(raw, "action", &ev.Action, true); err != nil {
		return nil, err
	}
	if err := refStr(raw, "occurred_at", &ev.OccurredAt, true); err != nil {
		return nil, err
	}
	if err := refStr(raw, "actor", &ev.Actor, false); err != nil {
		return nil, err
	}
	if v, ok := raw["changed"]; ok && string(v) != "null" {
		if err := json.Unmarshal(v, &ev.Changed); err != nil {
			return nil, refInvalid("field \"changed\" must be an array of strings")
		}
	}
	data, ok := raw["data"]
	if !ok || len(data) == 0 || data[0] != '{' {
		return nil, refInvalid("field \"data\" is required and must be a JSON object")
	}
	ev.Data = data
	if err := ev.Validate(); err != nil {
		return nil, err
	}
	if ev.Entity != tokens[2] {
		return nil, refInvalid("entity %q does not match the subject's entity token %q", ev.Entity, tokens[2])
	}
	if ev.Action != tokens[3] {
		return nil, refInvalid("action %q does not match the subject's action token %q", ev.Action, tokens[3])
	}
	return &ev, nil
}

func refInvalid(format string, args ...any) error {
	return &event.InvalidError{Reason: fmt.Sprintf(format, args...)}
}

func refStr(raw map[string]json.RawMessage, name string, dst *string, required bool) error {
	v, ok := raw[name]
	if !ok || string(v) == "null" {
		if required {
			return refInvalid("field %q is required", name)
		}
		return nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return refInvalid("field %q must be a string", name)
	}
	return nil
}
