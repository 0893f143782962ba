package webhook_test

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/webhookd/webhookd/event"
	"github.com/webhookd/webhookd/webhook"
)

// referenceBuildBody is BuildBody as it was before it wrote the payload with
// go-json-experiment/json: encoding/json's Encoder, HTML left unescaped. BuildBody must write
// the same bytes, and fail where it failed (TestBuildBodyMatchesReference, FuzzBuildBody).
func referenceBuildBody(ev *event.Event, ruleID, definitionID string, fields []string) ([]byte, error) {
	if ev == nil {
		return nil, fmt.Errorf("build webhook body: no event")
	}
	p := webhook.Payload{
		Type:      ev.Type(),
		Timestamp: ev.OccurredAt,
		Data: webhook.PayloadData{
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
		p.Data.Fields = data
	} else {
		f, err := webhook.ProjectJSON(data, fields)
		if err != nil {
			return nil, fmt.Errorf("build webhook body for event %q: %w", ev.ID, err)
		}
		p.Data.Fields = f
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("build webhook body for event %q: %w", ev.ID, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}
