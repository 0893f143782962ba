package pipeline

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/delivery"
	"github.com/webhookd/webhookd/storage"
)

// task is one delivery (event, rule, definition) waiting for its next attempt: the message on
// webhookd.deliveries.<definition id>. Its body is built once, at fan-out, so every retry and
// every resend sends the same bytes under the same webhook-id.
type task struct {
	WebhookID    string            `json:"webhook_id"`
	Attempts     int               `json:"attempts"`            // attempts already made
	NotBefore    time.Time         `json:"not_before,omitzero"` // the next attempt's earliest time
	EventID      string            `json:"event_id"`
	Entity       string            `json:"entity"`
	EntityID     string            `json:"entity_id"`
	Action       string            `json:"action"`
	Rule         storage.Ref       `json:"workflow_rule"`
	DefinitionID string            `json:"webhook_definition"`
	FieldsSet    *config.FieldsSet `json:"fields_set,omitempty"`
	Body         json.RawMessage   `json:"body"`
	CreatedAt    time.Time         `json:"created_at"`
}

// msgID deduplicates the task's publication: the first attempt's task by its webhook-id, each
// retry's by webhook-id and attempt, so a re-published fan-out or retry is stored once.
func (t *task) msgID() string {
	if t.Attempts == 0 {
		return t.WebhookID
	}
	return t.WebhookID + "." + strconv.Itoa(t.Attempts)
}

// taskEncoding writes a task in the JSON encoding/json reads (the previous version's, should
// it read what this one queued), with the body kept byte for byte: no HTML or JavaScript
// escaping (encoding/json's Marshal wrote \u003c for a < in the body, so a queued delivery and
// every retry sent other bytes than a first attempt made at once), its strings, repeated names
// and invalid UTF-8 as the event's data had them. A nil slice is null, as encoding/json wrote it.
var taskEncoding = jsonv2.JoinOptions(
	jsontext.EscapeForHTML(false),
	jsontext.EscapeForJS(false),
	jsontext.PreserveRawStrings(true),
	jsontext.AllowDuplicateNames(true),
	jsontext.AllowInvalidUTF8(true),
	jsonv2.FormatNilSliceAsNull(true),
)

// taskDecoding reads whatever encoding/json wrote and read: the body keeps the invalid UTF-8
// and the repeated names the event's data may have had.
var taskDecoding = jsonv2.JoinOptions(
	jsontext.AllowInvalidUTF8(true),
	jsontext.AllowDuplicateNames(true),
)

// encodeTask is the message body of t on its definition's subject, in one pass.
func encodeTask(t *task) ([]byte, error) {
	b, err := jsonv2.Marshal(t, taskEncoding)
	if err != nil {
		return nil, fmt.Errorf("encode delivery task %s: %w", t.WebhookID, err)
	}
	return b, nil
}

// decodeTask reads a task in one pass: encoding/json scanned it twice, once to validate and
// once to decode.
func decodeTask(b []byte) (*task, error) {
	var t task
	if err := jsonv2.Unmarshal(b, &t, taskDecoding); err != nil {
		return nil, fmt.Errorf("decode delivery task: %w", err)
	}
	if t.WebhookID == "" || t.DefinitionID == "" || len(t.Body) == 0 {
		return nil, fmt.Errorf("decode delivery task: webhook_id, webhook_definition and body are required")
	}
	return &t, nil
}

// taskOf is the delivery a stored webhook request logs, as a resend makes it again: the stored
// body under the same webhook-id, for the same event and rule.
func taskOf(wr *storage.WebhookRequest) *task {
	return &task{
		WebhookID:    wr.WebhookID,
		Attempts:     wr.Attempts,
		EventID:      wr.EventID,
		Entity:       wr.Entity,
		EntityID:     wr.EntityID,
		Rule:         wr.WorkflowRule,
		DefinitionID: wr.WebhookDefinition.ID,
		FieldsSet:    wr.FieldsSet,
		Body:         json.RawMessage(wr.Request.Body),
		CreatedAt:    wr.Log.CreatedAt,
	}
}

// request is the webhook request that logs the task's delivery, finished with res.
func (t *task) request(def *config.Definition, attempts int, state string, res *delivery.Result, now time.Time) *storage.WebhookRequest {
	req := &storage.WebhookRequest{
		WebhookID:         t.WebhookID,
		State:             state,
		Entity:            t.Entity,
		EntityID:          t.EntityID,
		EventID:           t.EventID,
		URL:               res.Request.URL,
		SecretKey:         def.SecretKey, // masked below
		FieldsSet:         t.FieldsSet,
		Request:           res.Request,
		Response:          res.Response,
		WebhookDefinition: storage.Ref{ID: def.ID, Name: def.Name},
		WorkflowRule:      t.Rule,
		Attempts:          attempts,
		Log:               storage.Log{CreatedAt: now, CreatedBy: storage.SystemUser, UpdatedAt: now, UpdatedBy: storage.SystemUser},
	}
	if req.URL == "" {
		req.URL = def.URL
	}
	if state == storage.StateRejected {
		req.ErrorCode, req.ErrorDescription = res.ErrorCode, res.ErrorDescription
	}
	return req.Mask()
}

// unattempted is the rejected webhook request of a delivery that was never attempted (its
// definition is gone or inactive, or it could not be queued).
func (t *task) unattempted(def *config.Definition, code controlapi.Code, desc string, now time.Time) *storage.WebhookRequest {
	res := delivery.Result{
		Outcome:          delivery.Reject,
		ErrorCode:        string(code),
		ErrorDescription: desc,
		Request:          storage.RequestInfo{Method: def.Method, URL: def.URL, Headers: map[string]string{}, Body: string(t.Body), SentAt: now},
	}
	return t.request(def, t.Attempts, storage.StateRejected, &res, now)
}
