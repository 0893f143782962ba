// Package storage holds the records webhookd keeps (webhook requests, invalid events, audit
// entries; definitions and rules are config's types) and the errors its stores return. The
// stores live in sub-packages: storage/mongo for production, storage/sqlite for standalone mode.
// Each maps these types to documents or rows of its own, so nothing here knows how a store
// lays them out. Both pass the one conformance suite in storage/storagetest, so they behave the
// same; the interfaces each caller needs are declared by that caller (worker, control).
package storage

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/redact"
)

// Errors the stores return, checked with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	// ErrConflict: the document is not in the state the operation requires (for example a resend
	// claim on a request that is not rejected, or already claimed).
	ErrConflict = errors.New("conflict")
	// ErrDefinitionInUse: a definition that an existing rule names cannot be deleted.
	ErrDefinitionInUse = errors.New("definition in use")
)

// Request states.
const (
	StateSuccessful = "successful"
	StateRejected   = "rejected"
)

// SystemUser is the log user of the worker's own writes.
const SystemUser = "system"

// NumberPrefix starts every webhook request number.
const NumberPrefix = "WR-"

// FormatNumber renders a sequence as a webhook request number, e.g. WR-0000001234.
func FormatNumber(seq int64) string { return fmt.Sprintf("%s%010d", NumberPrefix, seq) }

// ParseNumber returns the sequence of a webhook request number.
func ParseNumber(number string) (int64, error) {
	digits, ok := strings.CutPrefix(number, NumberPrefix)
	if !ok || len(digits) < 10 {
		return 0, fmt.Errorf("invalid webhook request number %q: want WR- and at least 10 digits", number)
	}
	seq, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || seq < 0 {
		return 0, fmt.Errorf("invalid webhook request number %q: want WR- and at least 10 digits", number)
	}
	return seq, nil
}

// Ref names a definition or rule in a webhook request.
type Ref struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// RequestInfo is the HTTP request as sent.
type RequestInfo struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	SentAt  time.Time         `json:"sent_at"`
}

// ResponseInfo is the receiver's answer, body capped at MaxResponseBody.
type ResponseInfo struct {
	Status     int               `json:"status"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
	Truncated  bool              `json:"truncated"`
	DurationMS int64             `json:"duration_ms"`
}

// MaxResponseBody caps the stored response body.
const MaxResponseBody = 64 << 10

// Log says who created and last changed a document.
type Log struct {
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
}

// WebhookRequest is the log of one finished delivery (CONTRACT.md section 5).
type WebhookRequest struct {
	Number string `json:"number"`
	// Seq is Number's integer, kept for ordering and cursors; not part of replies.
	Seq int64 `json:"-"`
	// WebhookID is the delivery's stable webhook-id; unique, it makes the worker's writes idempotent.
	WebhookID         string            `json:"webhook_id"`
	State             string            `json:"state"`
	Entity            string            `json:"entity"`
	EntityID          string            `json:"entity_id"`
	EventID           string            `json:"event_id"`
	URL               string            `json:"url"`
	SecretKey         string            `json:"secret_key"` // masked, never the secret
	FieldsSet         *config.FieldsSet `json:"fields_set"`
	Request           RequestInfo       `json:"request"`
	Response          *ResponseInfo     `json:"response,omitempty"`
	WebhookDefinition Ref               `json:"webhook_definition"`
	WorkflowRule      Ref               `json:"workflow_rule"`
	Attempts          int               `json:"attempts"`
	ErrorCode         string            `json:"error_code,omitempty"`
	ErrorDescription  string            `json:"error_description,omitempty"`
	ResentFrom        string            `json:"resent_from,omitempty"`
	Log               Log               `json:"log"`
}

// Mask masks r's credentials in place, as webhookd stores and shows every webhook request
// (CONTRACT.md section 5, package redact): the secret key, the credential-like query parameters
// of url and request.url, and the values of credential headers of the request and the
// response. Masking is idempotent, so a request the store already holds masked is unchanged;
// what was stored before a name joined the list is masked on its way out. It returns r.
func (r *WebhookRequest) Mask() *WebhookRequest {
	r.URL = redact.URL(r.URL)
	r.SecretKey = redact.Secret(r.SecretKey)
	r.Request.URL = redact.URL(r.Request.URL)
	r.Request.Headers = redact.Headers(r.Request.Headers)
	if r.Response != nil {
		resp := *r.Response
		resp.Headers = redact.Headers(resp.Headers)
		r.Response = &resp
	}
	return r
}

// Filter selects webhook requests; empty fields match everything, set fields are ANDed.
type Filter struct {
	State             string    `json:"state,omitempty"`
	Entity            string    `json:"entity,omitempty"`
	EntityID          string    `json:"entity_id,omitempty"`
	EventID           string    `json:"event_id,omitempty"`
	WebhookDefinition string    `json:"webhook_definition,omitempty"`
	WorkflowRule      string    `json:"workflow_rule,omitempty"`
	CreatedFrom       time.Time `json:"created_from,omitzero"` // inclusive
	CreatedTo         time.Time `json:"created_to,omitzero"`   // exclusive
}

// IsEmpty reports whether the filter selects every request.
func (f Filter) IsEmpty() bool { return f == Filter{} }

// ListQuery asks for one page of requests, newest (highest number) first.
type ListQuery struct {
	Filter Filter
	Limit  int // see ClampLimit
	// BeforeSeq, when > 0, returns only requests with Seq < BeforeSeq (the cursor of the next page).
	BeforeSeq int64
}

// Limits of the stores' list queries.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// ClampLimit is how many items a store's list query returns at most when asked for n: the
// stores guard against a caller that forgot to bound a limit.
func ClampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// InvalidEvent is a message on crm.events.> that broke the rules of CONTRACT.md section 2.
type InvalidEvent struct {
	Subject    string    `json:"subject"`
	Body       string    `json:"body"` // the raw bytes, up to MaxInvalidBody
	Reason     string    `json:"reason"`
	ReceivedAt time.Time `json:"received_at"`
	// MsgID identifies the JetStream message (stream sequence) so a redelivery is stored once.
	MsgID string `json:"-"`
}

// MaxInvalidBody caps the stored body of an invalid event.
const MaxInvalidBody = 64 << 10

// AuditEntry records a mutating control command.
type AuditEntry struct {
	At      time.Time `json:"at"`
	User    string    `json:"user"`
	Command string    `json:"command"`
	Request string    `json:"request"` // the request body, secrets masked
	OK      bool      `json:"ok"`
	Result  string    `json:"result"` // a short summary, or the error code and message
}

// ResendClaim marks a rejected request as being resent, so that a concurrent resend or a crash
// cannot produce two outcomes.
type ResendClaim struct {
	Token string    // unique per resend attempt
	By    string    // the operator
	Until time.Time // after this, the claim is stale and may be taken over
}

// ResendSuccess completes a claimed resend that succeeded.
type ResendSuccess struct {
	// Replacement, when non-nil, becomes the successful request that replaces the rejected one,
	// atomically (the rejected request and its replacement never both exist). Nil (logging
	// rejected_only): the rejected request is deleted.
	Replacement *WebhookRequest
}

// ResendFailure completes a claimed resend that was rejected again.
type ResendFailure struct {
	ErrorCode        string
	ErrorDescription string
	Response         *ResponseInfo
	At               time.Time
	By               string
}

// DefinitionHealth tracks failing endpoints (CONTRACT.md section 3, endpoint health).
type DefinitionHealth struct {
	ID           string
	FailingSince time.Time // zero: not failing
	Failures     int64     // failed attempts since FailingSince
}
