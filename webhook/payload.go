package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/webhookd/webhookd/event"
)

// Payload is the body of every webhook request (CONTRACT.md section 3). Receivers may decode
// into it; Data.Fields is left raw so that numbers keep every digit.
type Payload struct {
	Type      string      `json:"type"`      // "<entity>.<action>"
	Timestamp string      `json:"timestamp"` // the event's occurred_at, as received
	Data      PayloadData `json:"data"`
}

// PayloadData is the "data" object of a Payload.
type PayloadData struct {
	EventID           string          `json:"event_id"`
	Entity            string          `json:"entity"`
	EntityID          string          `json:"entity_id"`
	Action            string          `json:"action"`
	Actor             string          `json:"actor"` // "" when the event has none
	WorkflowRule      string          `json:"workflow_rule"`
	WebhookDefinition string          `json:"webhook_definition"`
	Fields            json.RawMessage `json:"fields"`
}

// BuildBody returns the webhook body for one delivery of ev: its data projected onto fields
// (see ProjectJSON, which keeps the event's key order; nil or empty: the whole data, byte for byte apart from insignificant white
// space). Numbers are copied as written, never through float64, so 12345678901234567890 stays
// exact; <, > and & are not escaped, since the body is JSON for machines, not HTML.
func BuildBody(ev *event.Event, ruleID, definitionID string, fields []string) ([]byte, error) {
	if ev == nil {
		return nil, fmt.Errorf("build webhook body: no event")
	}
	p := Payload{
		Type:      ev.Type(),
		Timestamp: ev.OccurredAt,
		Data: PayloadData{
			EventID:           ev.ID,
			Entity:            ev.Entity,
			EntityID:          ev.EntityID,
			Action:            ev.Action,
			Actor:             ev.Actor,
			WorkflowRule:      ruleID,
			WebhookDefinition: definitionID,
		},
	}
	data := bytes.TrimSpace(ev.Data)
	if len(data) == 0 || data[0] != '{' {
		return nil, fmt.Errorf("build webhook body for event %q: data is not a JSON object", ev.ID)
	}
	if len(fields) == 0 {
		p.Data.Fields = data // validated and compacted by the encoder below
	} else {
		// Projected on the raw JSON, so that the selected fields keep the event's order.
		f, err := ProjectJSON(data, fields)
		if err != nil {
			return nil, fmt.Errorf("build webhook body for event %q: %w", ev.ID, err)
		}
		p.Data.Fields = f
	}
	b, err := encode(p)
	if err != nil {
		return nil, fmt.Errorf("build webhook body for event %q: %w", ev.ID, err)
	}
	return b, nil
}

func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}
