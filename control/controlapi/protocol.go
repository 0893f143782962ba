package controlapi

import (
	"encoding/json"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/storage"
)

// SubjectPrefix starts every control subject; the command follows it.
const SubjectPrefix = "crm.webhooks.control."

// QueueGroup is the queue group every replica's responder joins, so one replica answers.
const QueueGroup = "webhookd"

// Subject returns the subject of a command, e.g. crm.webhooks.control.requests.list.
func Subject(command string) string { return SubjectPrefix + command }

// Commands.
const (
	CmdRequestsList      = "requests.list"
	CmdRequestsGet       = "requests.get"
	CmdRequestsDelete    = "requests.delete"
	CmdRequestsResend    = "requests.resend"
	CmdConfigApply       = "config.apply"
	CmdDefinitionsList   = "definitions.list"
	CmdDefinitionsGet    = "definitions.get"
	CmdDefinitionsDelete = "definitions.delete"
	CmdRulesList         = "rules.list"
	CmdRulesGet          = "rules.get"
	CmdRulesDelete       = "rules.delete"
)

// Commands lists every command, in the order of the contract.
var Commands = []string{
	CmdRequestsList, CmdRequestsGet, CmdRequestsDelete, CmdRequestsResend, CmdConfigApply,
	CmdDefinitionsList, CmdDefinitionsGet, CmdDefinitionsDelete, CmdRulesList, CmdRulesGet, CmdRulesDelete,
}

// mutating commands need a user and are audited.
var mutating = map[string]bool{
	CmdRequestsDelete: true, CmdRequestsResend: true, CmdConfigApply: true,
	CmdDefinitionsDelete: true, CmdRulesDelete: true,
}

// IsMutating reports whether a command changes something (it needs "user" and is audited).
func IsMutating(command string) bool { return mutating[command] }

// Resend outcomes.
const (
	OutcomeSuccessful = "successful"
	OutcomeRejected   = "rejected"
	OutcomeFailed     = "failed"
)

// Bounds of requests.
const (
	DefaultLimit = storage.DefaultLimit
	MaxLimit     = storage.MaxLimit
	// MaxNumbers bounds the numbers of one delete or resend; use a filter for more.
	MaxNumbers = 1000
	// MaxBody bounds a request body, except config.apply's, bounded by config.MaxDocumentSize.
	MaxBody = 1 << 20
	// MaxResults bounds the per-request results a resend reply lists (the totals are always
	// complete), so a resend by filter over many requests still fits a NATS message.
	MaxResults = 1000
	// MaxUser bounds the user name, in bytes.
	MaxUser = 256
)

// Reply is the envelope of every final reply.
type Reply struct {
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
}

// Error is a reply's error; it is also the error the Client returns for an error reply.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Progress is sent before the final reply when a request asks for it ("progress":true).
type Progress struct {
	Done  int64 `json:"done"`
	Total int64 `json:"total"`
}

// ProgressMessage is the body of a progress message; it has no "ok", which tells it apart
// from the final reply.
type ProgressMessage struct {
	Progress Progress `json:"progress"`
}

// Filter is the filter of requests.list, requests.delete and requests.resend as JSON.
type Filter struct {
	State             string `json:"state,omitempty"`
	Entity            string `json:"entity,omitempty"`
	EntityID          string `json:"entity_id,omitempty"`
	EventID           string `json:"event_id,omitempty"`
	WebhookDefinition string `json:"webhook_definition,omitempty"`
	WorkflowRule      string `json:"workflow_rule,omitempty"`
	CreatedFrom       string `json:"created_from,omitempty"` // RFC 3339, inclusive
	CreatedTo         string `json:"created_to,omitempty"`   // RFC 3339, exclusive
}

// IsEmpty reports whether no field is set.
func (f Filter) IsEmpty() bool { return f == Filter{} }

// ListRequest is requests.list's request.
type ListRequest struct {
	Filter Filter `json:"filter"`
	Limit  *int   `json:"limit,omitempty"`
	After  string `json:"after,omitempty"`
}

// ListResult is requests.list's result.
type ListResult struct {
	Items []*storage.WebhookRequest `json:"items"`
	Next  string                    `json:"next"`
}

// GetRequest is requests.get's request.
type GetRequest struct {
	Number string `json:"number"`
}

// ItemResult is the result of the get commands.
type ItemResult[T any] struct {
	Item T `json:"item"`
}

// ItemsResult is the result of definitions.list and rules.list.
type ItemsResult[T any] struct {
	Items []T `json:"items"`
}

// BulkRequest is the request of requests.delete and requests.resend: numbers, or a filter.
type BulkRequest struct {
	Numbers  []string `json:"numbers,omitempty"`
	Filter   *Filter  `json:"filter,omitempty"`
	User     string   `json:"user"`
	Progress bool     `json:"progress,omitempty"`
}

// DeleteResult is requests.delete's result.
type DeleteResult struct {
	Deleted  int      `json:"deleted"`
	NotFound []string `json:"not_found"`
}

// ResendResult is requests.resend's result. Results lists at most MaxResults entries
// (Truncated says some were left out); the totals count every request.
type ResendResult struct {
	Results    []ResendItem `json:"results"`
	Successful int          `json:"successful"`
	Rejected   int          `json:"rejected"`
	Failed     int          `json:"failed"`
	Truncated  bool         `json:"truncated,omitempty"`
}

// ResendItem is the outcome of the resend of one request.
type ResendItem struct {
	Number           string `json:"number"`
	Outcome          string `json:"outcome"`
	NewNumber        string `json:"new_number,omitempty"`
	ErrorCode        Code   `json:"error_code,omitempty"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// ApplyResult is config.apply's result.
type ApplyResult struct {
	WebhookDefinitions int `json:"webhook_definitions"`
	WorkflowRules      int `json:"workflow_rules"`
}

// IDRequest is the request of definitions.get/delete and rules.get/delete.
type IDRequest struct {
	ID   string `json:"id"`
	User string `json:"user,omitempty"`
}

// DeletedResult is the result of definitions.delete and rules.delete.
type DeletedResult struct {
	Deleted int `json:"deleted"`
}

// ApplyRequest is config.apply's request: a section 4 document plus the user.
type ApplyRequest struct {
	config.Document
	User string `json:"user"`
}
