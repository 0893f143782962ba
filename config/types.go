// Package config is the model of webhook definitions and workflow rules (CONTRACT.md section 4):
// their types, defaults, parsing from YAML or JSON, and validation of a whole document, all or
// nothing. It knows nothing of NATS or of the store.
package config

import (
	"time"
)

// Logging values of a definition.
const (
	LoggingAll          = "all"
	LoggingRejectedOnly = "rejected_only"
)

// Defaults of section 4.
const (
	DefaultMethod          = "POST"
	DefaultTimeout         = 10 * time.Second
	DefaultMaxAttempts     = 6
	DefaultInitialInterval = time.Second
	DefaultMaxInterval     = 10 * time.Minute
	DefaultMultiplier      = 2.0
	DefaultMaxInFlight     = 32
	DefaultDisableAfter    = 72 * time.Hour
	// DefaultMaxQueued bounds a definition's queued deliveries (waiting, parked for a retry, in
	// flight): at about 1 KiB each on disk, 100 MiB for a receiver that is down for long.
	DefaultMaxQueued = 100_000
	// DefaultSecretRotationGrace is how long a replaced secret_key keeps signing.
	DefaultSecretRotationGrace = 24 * time.Hour
)

// RetryPolicy is a definition's backoff schedule.
type RetryPolicy struct {
	MaxAttempts     int      `json:"max_attempts" yaml:"max_attempts"`
	InitialInterval Duration `json:"initial_interval" yaml:"initial_interval"`
	MaxInterval     Duration `json:"max_interval" yaml:"max_interval"`
	Multiplier      float64  `json:"multiplier" yaml:"multiplier"`
}

// FieldsSet projects an event's data onto dot paths.
type FieldsSet struct {
	Name   string   `json:"name" yaml:"name"`
	Fields []string `json:"fields" yaml:"fields"`
}

// Definition is a webhook definition: where and how to send.
// Decoding (JSON or YAML) starts from the section 4 defaults, so a field left out takes its default
// and a field given as zero stays zero.
type Definition struct {
	ID           string            `json:"id" yaml:"id"`
	Name         string            `json:"name" yaml:"name"`
	URL          string            `json:"url" yaml:"url"`
	Method       string            `json:"method" yaml:"method"`
	SecretKey    string            `json:"secret_key" yaml:"secret_key"`
	Headers      map[string]string `json:"headers,omitempty" yaml:"headers,omitempty"`
	FieldsSet    *FieldsSet        `json:"fields_set,omitempty" yaml:"fields_set,omitempty"`
	Logging      string            `json:"logging" yaml:"logging"`
	Timeout      Duration          `json:"timeout" yaml:"timeout"`
	Retry        RetryPolicy       `json:"retry" yaml:"retry"`
	MaxInFlight  int               `json:"max_in_flight" yaml:"max_in_flight"`
	MaxQueued    int               `json:"max_queued" yaml:"max_queued"`
	RateLimit    float64           `json:"rate_limit" yaml:"rate_limit"`
	DisableAfter Duration          `json:"disable_after" yaml:"disable_after"`
	// SecretRotationGrace is how long, after an apply changed SecretKey, the previous key keeps
	// signing beside it (CONTRACT.md section 4, secret rotation); 0: not at all.
	SecretRotationGrace Duration `json:"secret_rotation_grace" yaml:"secret_rotation_grace"`
	Active              bool     `json:"active" yaml:"active"`

	// Secret rotation, kept by the store (see RotateSecret); never taken from a document, so
	// YAML has no such keys and an apply's JSON values are replaced. PreviousSecretKey is the
	// key the last change of SecretKey replaced, SecretRotatedAt the time of that change.
	PreviousSecretKey string     `json:"previous_secret_key,omitempty" yaml:"-"`
	SecretRotatedAt   *time.Time `json:"secret_rotated_at,omitempty" yaml:"-"`
	// PreviousSecretUntil is when the previous key stops signing: only in replies (MaskSecrets
	// sets it), never stored.
	PreviousSecretUntil *time.Time `json:"previous_secret_until,omitempty" yaml:"-"`

	// Set by webhookd when it deactivates the definition (endpoint health); cleared by an apply.
	DisabledReason string     `json:"disabled_reason,omitempty" yaml:"disabled_reason,omitempty"`
	DisabledAt     *time.Time `json:"disabled_at,omitempty" yaml:"disabled_at,omitempty"`

	// Who changed it last; set by the store on upsert.
	UpdatedAt time.Time `json:"updated_at,omitzero" yaml:"-"`
	UpdatedBy string    `json:"updated_by,omitempty" yaml:"-"`
}

// Rule is a workflow rule: which events fire which definitions.
type Rule struct {
	ID                 string   `json:"id" yaml:"id"`
	Name               string   `json:"name" yaml:"name"`
	Entity             string   `json:"entity" yaml:"entity"`
	Actions            []string `json:"actions" yaml:"actions"`
	Condition          string   `json:"condition,omitempty" yaml:"condition,omitempty"`
	WebhookDefinitions []string `json:"webhook_definitions" yaml:"webhook_definitions"`
	Active             bool     `json:"active" yaml:"active"`

	UpdatedAt time.Time `json:"updated_at,omitzero" yaml:"-"`
	UpdatedBy string    `json:"updated_by,omitempty" yaml:"-"`
}

// Document is what --config, webhookctl apply and config.apply carry.
type Document struct {
	WebhookDefinitions []Definition `json:"webhook_definitions" yaml:"webhook_definitions"`
	WorkflowRules      []Rule       `json:"workflow_rules" yaml:"workflow_rules"`
}
