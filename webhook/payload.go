package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

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
	b, err := encodeBody(&p)
	if err != nil {
		return nil, fmt.Errorf("build webhook body for event %q: %w", ev.ID, err)
	}
	return b, nil
}

// bodyEncoding writes a Payload as encoding/json's Encoder (SetEscapeHTML(false)) did: fields
// compacted and otherwise kept as written (escapes, numbers, repeated names, invalid UTF-8).
var bodyEncoding = jsonv2.JoinOptions(
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
	jsontext.PreserveRawStrings(true),
)

// encodeBody writes p with go-json-experiment/json, which validates and compacts the fields in
// one pass where encoding/json's scanner took a step for every byte. The bytes are
// encoding/json's (TestBuildBodyMatchesReference) except in an envelope string with invalid
// UTF-8 (encoding/json wrote \ufffd, this the character itself) or U+2028/U+2029 (encoding/json
// escaped them in strings but not in fields, which no one option says): such a payload, and one
// refused here (fields that are not JSON), are left to encoding/json, errors included.
func encodeBody(p *Payload) ([]byte, error) {
	if p.plainStrings() {
		if b, err := jsonv2.Marshal(p, bodyEncoding); err == nil {
			return b, nil
		}
	}
	return encode(p)
}

// plainStrings reports whether both encoders write p's strings alike.
func (p *Payload) plainStrings() bool {
	return plain(p.Type) && plain(p.Timestamp) && plain(p.Data.EventID) && plain(p.Data.Entity) &&
		plain(p.Data.EntityID) && plain(p.Data.Action) && plain(p.Data.Actor) &&
		plain(p.Data.WorkflowRule) && plain(p.Data.WebhookDefinition)
}

// plain reports whether s is valid UTF-8 without U+2028 or U+2029. Most strings here are ASCII,
// and the bytes are looked at once.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			rest := s[i:]
			return utf8.ValidString(rest) && !strings.Contains(rest, "\u2028") && !strings.Contains(rest, "\u2029")
		}
	}
	return true
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
