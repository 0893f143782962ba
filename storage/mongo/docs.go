package mongo

import (
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/storage"
)

// The documents of the store's collections, one type for each kind, and the functions that map
// the domain types (config, storage) to them (newXDoc) and back (xFromDoc). These types, not
// the domain's, say how a document looks in MongoDB: its field names (CONTRACT.md sections 2, 4
// and 5), what is left out when empty, durations as their section 4 strings. Deployments hold
// such documents already, so their shape does not change: docs_internal_test.go pins each kind.
//
// No document has an _id field: the server (on an upsert) or the driver (on an insert) gives
// each an ObjectID, and reads ignore it. The fields that only updates write (a request's
// resend_claim, a definition's health) are in the queries of the methods that write them.

// definitionDoc is a document of webhook_definitions: a config.Definition as stored, its secrets
// sealed (storage.SealDefinition). PreviousSecretUntil, which only replies carry, is not kept.
type definitionDoc struct {
	ID                  string            `bson:"id"`
	Name                string            `bson:"name"`
	URL                 string            `bson:"url"`
	Method              string            `bson:"method"`
	SecretKey           string            `bson:"secret_key"`
	Headers             map[string]string `bson:"headers,omitempty"`
	FieldsSet           *fieldsSetDoc     `bson:"fields_set,omitempty"`
	Logging             string            `bson:"logging"`
	Timeout             duration          `bson:"timeout"`
	Retry               retryDoc          `bson:"retry"`
	MaxInFlight         int               `bson:"max_in_flight"`
	MaxQueued           int               `bson:"max_queued"`
	RateLimit           float64           `bson:"rate_limit"`
	DisableAfter        duration          `bson:"disable_after"`
	SecretRotationGrace duration          `bson:"secret_rotation_grace"`
	Active              bool              `bson:"active"`
	PreviousSecretKey   string            `bson:"previous_secret_key,omitempty"`
	SecretRotatedAt     *time.Time        `bson:"secret_rotated_at,omitempty"`
	DisabledReason      string            `bson:"disabled_reason,omitempty"`
	DisabledAt          *time.Time        `bson:"disabled_at,omitempty"`
	UpdatedAt           time.Time         `bson:"updated_at"`
	UpdatedBy           string            `bson:"updated_by"`
}

type retryDoc struct {
	MaxAttempts     int      `bson:"max_attempts"`
	InitialInterval duration `bson:"initial_interval"`
	MaxInterval     duration `bson:"max_interval"`
	Multiplier      float64  `bson:"multiplier"`
}

// fieldsSetDoc is a definition's fields_set, and the one a webhook request was sent with.
type fieldsSetDoc struct {
	Name   string   `bson:"name"`
	Fields []string `bson:"fields"`
}

func newDefinitionDoc(d config.Definition) definitionDoc {
	return definitionDoc{
		ID:           d.ID,
		Name:         d.Name,
		URL:          d.URL,
		Method:       d.Method,
		SecretKey:    d.SecretKey,
		Headers:      d.Headers,
		FieldsSet:    newFieldsSetDoc(d.FieldsSet),
		Logging:      d.Logging,
		Timeout:      duration(d.Timeout),
		Retry:        retryDoc{MaxAttempts: d.Retry.MaxAttempts, InitialInterval: duration(d.Retry.InitialInterval), MaxInterval: duration(d.Retry.MaxInterval), Multiplier: d.Retry.Multiplier},
		MaxInFlight:  d.MaxInFlight,
		MaxQueued:    d.MaxQueued,
		RateLimit:    d.RateLimit,
		DisableAfter: duration(d.DisableAfter),

		SecretRotationGrace: duration(d.SecretRotationGrace),
		Active:              d.Active,
		PreviousSecretKey:   d.PreviousSecretKey,
		SecretRotatedAt:     d.SecretRotatedAt,
		DisabledReason:      d.DisabledReason,
		DisabledAt:          d.DisabledAt,
		UpdatedAt:           d.UpdatedAt,
		UpdatedBy:           d.UpdatedBy,
	}
}

func definitionFromDoc(doc definitionDoc) config.Definition {
	return config.Definition{
		ID:        doc.ID,
		Name:      doc.Name,
		URL:       doc.URL,
		Method:    doc.Method,
		SecretKey: doc.SecretKey,
		Headers:   doc.Headers,
		FieldsSet: fieldsSetFromDoc(doc.FieldsSet),
		Logging:   doc.Logging,
		Timeout:   config.Duration(doc.Timeout),
		Retry: config.RetryPolicy{
			MaxAttempts:     doc.Retry.MaxAttempts,
			InitialInterval: config.Duration(doc.Retry.InitialInterval),
			MaxInterval:     config.Duration(doc.Retry.MaxInterval),
			Multiplier:      doc.Retry.Multiplier,
		},
		MaxInFlight:  doc.MaxInFlight,
		MaxQueued:    doc.MaxQueued,
		RateLimit:    doc.RateLimit,
		DisableAfter: config.Duration(doc.DisableAfter),

		SecretRotationGrace: config.Duration(doc.SecretRotationGrace),
		Active:              doc.Active,
		PreviousSecretKey:   doc.PreviousSecretKey,
		SecretRotatedAt:     doc.SecretRotatedAt,
		DisabledReason:      doc.DisabledReason,
		DisabledAt:          doc.DisabledAt,
		UpdatedAt:           doc.UpdatedAt,
		UpdatedBy:           doc.UpdatedBy,
	}
}

func newFieldsSetDoc(f *config.FieldsSet) *fieldsSetDoc {
	if f == nil {
		return nil
	}
	return &fieldsSetDoc{Name: f.Name, Fields: f.Fields}
}

func fieldsSetFromDoc(doc *fieldsSetDoc) *config.FieldsSet {
	if doc == nil {
		return nil
	}
	return &config.FieldsSet{Name: doc.Name, Fields: doc.Fields}
}

// duration is a config.Duration in a document: its section 4 string ("10s", "1h30m"), so that
// documents stay readable. A document without the field reads it as zero; one that holds any
// BSON type but a string there is an error, never a count of nanoseconds taken for a duration.
type duration config.Duration

// MarshalBSONValue writes the duration string.
func (d duration) MarshalBSONValue() (byte, []byte, error) {
	t, b, err := bson.MarshalValue(config.Duration(d).Text())
	return byte(t), b, err
}

// UnmarshalBSONValue reads a duration string.
func (d *duration) UnmarshalBSONValue(typ byte, data []byte) error {
	v := bson.RawValue{Type: bson.Type(typ), Value: data}
	s, ok := v.StringValueOK()
	if !ok {
		return fmt.Errorf("decode duration: stored as BSON %s, want a string", v.Type)
	}
	p, err := config.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("decode duration: %w", err)
	}
	*d = duration(p)
	return nil
}

// ruleDoc is a document of workflow_rules.
type ruleDoc struct {
	ID                 string    `bson:"id"`
	Name               string    `bson:"name"`
	Entity             string    `bson:"entity"`
	Actions            []string  `bson:"actions"`
	Condition          string    `bson:"condition,omitempty"`
	WebhookDefinitions []string  `bson:"webhook_definitions"`
	Active             bool      `bson:"active"`
	UpdatedAt          time.Time `bson:"updated_at"`
	UpdatedBy          string    `bson:"updated_by"`
}

func newRuleDoc(r config.Rule) ruleDoc {
	return ruleDoc{
		ID:                 r.ID,
		Name:               r.Name,
		Entity:             r.Entity,
		Actions:            r.Actions,
		Condition:          r.Condition,
		WebhookDefinitions: r.WebhookDefinitions,
		Active:             r.Active,
		UpdatedAt:          r.UpdatedAt,
		UpdatedBy:          r.UpdatedBy,
	}
}

func ruleFromDoc(doc ruleDoc) config.Rule {
	return config.Rule{
		ID:                 doc.ID,
		Name:               doc.Name,
		Entity:             doc.Entity,
		Actions:            doc.Actions,
		Condition:          doc.Condition,
		WebhookDefinitions: doc.WebhookDefinitions,
		Active:             doc.Active,
		UpdatedAt:          doc.UpdatedAt,
		UpdatedBy:          doc.UpdatedBy,
	}
}

// requestDoc is a document of webhook_requests (CONTRACT.md section 5). seq is the number's
// integer, for ordering and cursors. A request being resent also holds resend_claim
// {token, by, until}, which ClaimResend sets and the completion removes.
type requestDoc struct {
	Number            string         `bson:"number"`
	Seq               int64          `bson:"seq"`
	WebhookID         string         `bson:"webhook_id"`
	State             string         `bson:"state"`
	Entity            string         `bson:"entity"`
	EntityID          string         `bson:"entity_id"`
	EventID           string         `bson:"event_id"`
	URL               string         `bson:"url"`
	SecretKey         string         `bson:"secret_key"`
	FieldsSet         *fieldsSetDoc  `bson:"fields_set"`
	Request           requestInfoDoc `bson:"request"`
	Response          *responseDoc   `bson:"response,omitempty"`
	WebhookDefinition refDoc         `bson:"webhook_definition"`
	WorkflowRule      refDoc         `bson:"workflow_rule"`
	Attempts          int            `bson:"attempts"`
	ErrorCode         string         `bson:"error_code,omitempty"`
	ErrorDescription  string         `bson:"error_description,omitempty"`
	ResentFrom        string         `bson:"resent_from,omitempty"`
	Log               logDoc         `bson:"log"`
}

type requestInfoDoc struct {
	Method  string            `bson:"method"`
	URL     string            `bson:"url"`
	Headers map[string]string `bson:"headers"`
	Body    string            `bson:"body"`
	SentAt  time.Time         `bson:"sent_at"`
}

// responseDoc is a request's response, also what a rejected resend sets.
type responseDoc struct {
	Status     int               `bson:"status"`
	Headers    map[string]string `bson:"headers"`
	Body       string            `bson:"body"`
	Truncated  bool              `bson:"truncated"`
	DurationMS int64             `bson:"duration_ms"`
}

type refDoc struct {
	ID   string `bson:"id"`
	Name string `bson:"name"`
}

type logDoc struct {
	CreatedAt time.Time `bson:"created_at"`
	CreatedBy string    `bson:"created_by"`
	UpdatedAt time.Time `bson:"updated_at"`
	UpdatedBy string    `bson:"updated_by"`
}

func newRequestDoc(r *storage.WebhookRequest) requestDoc {
	return requestDoc{
		Number:    r.Number,
		Seq:       r.Seq,
		WebhookID: r.WebhookID,
		State:     r.State,
		Entity:    r.Entity,
		EntityID:  r.EntityID,
		EventID:   r.EventID,
		URL:       r.URL,
		SecretKey: r.SecretKey,
		FieldsSet: newFieldsSetDoc(r.FieldsSet),
		Request: requestInfoDoc{
			Method:  r.Request.Method,
			URL:     r.Request.URL,
			Headers: r.Request.Headers,
			Body:    r.Request.Body,
			SentAt:  r.Request.SentAt,
		},
		Response:          newResponseDoc(r.Response),
		WebhookDefinition: refDoc(r.WebhookDefinition),
		WorkflowRule:      refDoc(r.WorkflowRule),
		Attempts:          r.Attempts,
		ErrorCode:         r.ErrorCode,
		ErrorDescription:  r.ErrorDescription,
		ResentFrom:        r.ResentFrom,
		Log:               logDoc(r.Log),
	}
}

func requestFromDoc(doc requestDoc) *storage.WebhookRequest {
	return &storage.WebhookRequest{
		Number:    doc.Number,
		Seq:       doc.Seq,
		WebhookID: doc.WebhookID,
		State:     doc.State,
		Entity:    doc.Entity,
		EntityID:  doc.EntityID,
		EventID:   doc.EventID,
		URL:       doc.URL,
		SecretKey: doc.SecretKey,
		FieldsSet: fieldsSetFromDoc(doc.FieldsSet),
		Request: storage.RequestInfo{
			Method:  doc.Request.Method,
			URL:     doc.Request.URL,
			Headers: doc.Request.Headers,
			Body:    doc.Request.Body,
			SentAt:  doc.Request.SentAt,
		},
		Response:          responseFromDoc(doc.Response),
		WebhookDefinition: storage.Ref(doc.WebhookDefinition),
		WorkflowRule:      storage.Ref(doc.WorkflowRule),
		Attempts:          doc.Attempts,
		ErrorCode:         doc.ErrorCode,
		ErrorDescription:  doc.ErrorDescription,
		ResentFrom:        doc.ResentFrom,
		Log:               storage.Log(doc.Log),
	}
}

func newResponseDoc(r *storage.ResponseInfo) *responseDoc {
	if r == nil {
		return nil
	}
	return &responseDoc{Status: r.Status, Headers: r.Headers, Body: r.Body, Truncated: r.Truncated, DurationMS: r.DurationMS}
}

func responseFromDoc(doc *responseDoc) *storage.ResponseInfo {
	if doc == nil {
		return nil
	}
	return &storage.ResponseInfo{Status: doc.Status, Headers: doc.Headers, Body: doc.Body, Truncated: doc.Truncated, DurationMS: doc.DurationMS}
}

// invalidEventDoc is a document of invalid_events (CONTRACT.md section 2). msg_id, the
// JetStream message, makes a redelivery's insert a duplicate.
type invalidEventDoc struct {
	Subject    string    `bson:"subject"`
	Body       string    `bson:"body"`
	Reason     string    `bson:"reason"`
	ReceivedAt time.Time `bson:"received_at"`
	MsgID      string    `bson:"msg_id"`
}

func newInvalidEventDoc(e storage.InvalidEvent) invalidEventDoc { return invalidEventDoc(e) }

func invalidEventFromDoc(doc invalidEventDoc) storage.InvalidEvent { return storage.InvalidEvent(doc) }

// auditDoc is a document of audit_log.
type auditDoc struct {
	At      time.Time `bson:"at"`
	User    string    `bson:"user"`
	Command string    `bson:"command"`
	Request string    `bson:"request"`
	OK      bool      `bson:"ok"`
	Result  string    `bson:"result"`
}

func newAuditDoc(e storage.AuditEntry) auditDoc { return auditDoc(e) }

func auditFromDoc(doc auditDoc) storage.AuditEntry { return storage.AuditEntry(doc) }

// healthDoc is a document of definition_health, as RecordFailures' upsert leaves it: the
// definition's id, its failures ($inc) and failing_since ($setOnInsert).
type healthDoc struct {
	ID           string    `bson:"id"`
	FailingSince time.Time `bson:"failing_since"`
	Failures     int64     `bson:"failures"`
}

func healthFromDoc(doc healthDoc) storage.DefinitionHealth { return storage.DefinitionHealth(doc) }
