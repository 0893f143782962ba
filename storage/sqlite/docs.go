package sqlite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/webhookd/webhookd/config"
)

// The JSON docs of the webhook_definitions and workflow_rules rows, one type for each, and the
// functions that map the config types to them (newXDoc) and back (xFromDoc). These types, not
// config's, say how a doc looks: its keys, what is left out when empty, durations as their
// section 4 strings. Databases hold such docs already, so their shape does not change (see
// docs_internal_test.go); a change of config's JSON, the control plane's wire form, changes
// nothing here. Decoding a doc applies no defaults and validates nothing: the store keeps
// exactly what it was given, and a key a row does not hold reads as zero.

// definitionDoc is the doc of a webhook_definitions row: a config.Definition as stored, its
// secrets sealed (storage.SealDefinition). PreviousSecretUntil, which only replies carry, is not
// kept.
type definitionDoc struct {
	ID                  string            `json:"id"`
	Name                string            `json:"name"`
	URL                 string            `json:"url"`
	Method              string            `json:"method"`
	SecretKey           string            `json:"secret_key"`
	Headers             map[string]string `json:"headers,omitempty"`
	FieldsSet           *fieldsSetDoc     `json:"fields_set,omitempty"`
	Logging             string            `json:"logging"`
	Timeout             duration          `json:"timeout"`
	Retry               retryDoc          `json:"retry"`
	MaxInFlight         int               `json:"max_in_flight"`
	MaxQueued           int               `json:"max_queued"`
	RateLimit           float64           `json:"rate_limit"`
	DisableAfter        duration          `json:"disable_after"`
	SecretRotationGrace duration          `json:"secret_rotation_grace"`
	Active              bool              `json:"active"`
	PreviousSecretKey   string            `json:"previous_secret_key,omitempty"`
	SecretRotatedAt     *time.Time        `json:"secret_rotated_at,omitempty"`
	DisabledReason      string            `json:"disabled_reason,omitempty"`
	DisabledAt          *time.Time        `json:"disabled_at,omitempty"`
	UpdatedAt           time.Time         `json:"updated_at,omitzero"`
	UpdatedBy           string            `json:"updated_by,omitempty"`
}

type retryDoc struct {
	MaxAttempts     int      `json:"max_attempts"`
	InitialInterval duration `json:"initial_interval"`
	MaxInterval     duration `json:"max_interval"`
	Multiplier      float64  `json:"multiplier"`
}

// fieldsSetDoc is a definition's fields_set. It has the shape of a webhook request's
// fields_set column too.
type fieldsSetDoc struct {
	Name   string   `json:"name"`
	Fields []string `json:"fields"`
}

func newDefinitionDoc(d config.Definition) definitionDoc {
	return definitionDoc{
		ID:        d.ID,
		Name:      d.Name,
		URL:       d.URL,
		Method:    d.Method,
		SecretKey: d.SecretKey,
		Headers:   d.Headers,
		FieldsSet: newFieldsSetDoc(d.FieldsSet),
		Logging:   d.Logging,
		Timeout:   duration(d.Timeout),
		Retry: retryDoc{
			MaxAttempts:     d.Retry.MaxAttempts,
			InitialInterval: duration(d.Retry.InitialInterval),
			MaxInterval:     duration(d.Retry.MaxInterval),
			Multiplier:      d.Retry.Multiplier,
		},
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

// definitionFromDoc returns the definition of a doc, its times in UTC.
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
		SecretRotatedAt:     utc(doc.SecretRotatedAt),
		DisabledReason:      doc.DisabledReason,
		DisabledAt:          utc(doc.DisabledAt),
		UpdatedAt:           doc.UpdatedAt.UTC(),
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

// ruleDoc is the doc of a workflow_rules row. DeleteDefinition's query reads its
// webhook_definitions.
type ruleDoc struct {
	ID                 string    `json:"id"`
	Name               string    `json:"name"`
	Entity             string    `json:"entity"`
	Actions            []string  `json:"actions"`
	Condition          string    `json:"condition,omitempty"`
	WebhookDefinitions []string  `json:"webhook_definitions"`
	Active             bool      `json:"active"`
	UpdatedAt          time.Time `json:"updated_at,omitzero"`
	UpdatedBy          string    `json:"updated_by,omitempty"`
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

// ruleFromDoc returns the rule of a doc, its time in UTC.
func ruleFromDoc(doc ruleDoc) config.Rule {
	return config.Rule{
		ID:                 doc.ID,
		Name:               doc.Name,
		Entity:             doc.Entity,
		Actions:            doc.Actions,
		Condition:          doc.Condition,
		WebhookDefinitions: doc.WebhookDefinitions,
		Active:             doc.Active,
		UpdatedAt:          doc.UpdatedAt.UTC(),
		UpdatedBy:          doc.UpdatedBy,
	}
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// duration is a config.Duration in a doc: its section 4 string ("10s", "1h30m"; rows written by
// the first version hold time.Duration.String's "10m0s", read the same). Any JSON value but a
// duration string, null included, is an error, never a count of nanoseconds taken for a duration.
type duration config.Duration

// MarshalJSON writes the duration string.
func (d duration) MarshalJSON() ([]byte, error) { return json.Marshal(config.Duration(d).Text()) }

// UnmarshalJSON reads a duration string.
func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if b = bytes.TrimSpace(b); len(b) == 0 || b[0] != '"' {
		return fmt.Errorf("decode duration: stored as %.20s, want a string", b)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("decode duration: %w", err)
	}
	p, err := config.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("decode duration: %w", err)
	}
	*d = duration(p)
	return nil
}

// encodeRawDefinition is the stored JSON of d as it is, its secrets sealed already. TEXT: a BLOB
// would be read as JSONB.
func encodeRawDefinition(d config.Definition) (string, error) {
	b, err := json.Marshal(newDefinitionDoc(d))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// decodeRawDefinition reads a stored definition as it is, its secrets sealed.
func decodeRawDefinition(b []byte) (*config.Definition, error) {
	var doc definitionDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	d := definitionFromDoc(doc)
	return &d, nil
}

// encodeRule is the stored JSON of r.
func encodeRule(r config.Rule) (string, error) {
	b, err := json.Marshal(newRuleDoc(r))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func decodeRule(b []byte) (*config.Rule, error) {
	var doc ruleDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, err
	}
	r := ruleFromDoc(doc)
	return &r, nil
}
