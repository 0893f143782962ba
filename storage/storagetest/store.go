// Package storagetest is the conformance suite every store passes: the behaviour the worker and
// the control plane rely on, written once and run against SQLite and MongoDB alike.
package storagetest

import (
	"context"
	"time"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/storage"
)

// Store is everything a store offers; callers declare the subsets they use.
type Store interface {
	// ReserveNumbers reserves the block of n request sequences [first, first+n) for one replica.
	// Blocks never overlap, across replicas too.
	ReserveNumbers(ctx context.Context, n int) (first int64, err error)

	// InsertRequests writes requests in one batch (unordered), after storage.PrepareRequest. A
	// request whose WebhookID is already stored is skipped, not an error: redelivery never writes
	// a second document for the same delivery. One whose number another delivery holds is
	// reported, wrapping storage.ErrConflict, and the rest are still written. It returns how many
	// were written.
	InsertRequests(ctx context.Context, reqs []*storage.WebhookRequest) (inserted int, err error)
	// GetRequest returns storage.ErrNotFound for an unknown number.
	GetRequest(ctx context.Context, number string) (*storage.WebhookRequest, error)
	// ListRequests returns up to q.Limit requests matching q.Filter, highest Seq first,
	// only those with Seq < q.BeforeSeq when BeforeSeq > 0.
	ListRequests(ctx context.Context, q storage.ListQuery) ([]*storage.WebhookRequest, error)
	// CountRequests counts requests matching f.
	CountRequests(ctx context.Context, f storage.Filter) (int64, error)
	// DeleteRequests deletes the given numbers, in any state, and returns those it deleted.
	DeleteRequests(ctx context.Context, numbers []string) (deleted []string, err error)

	// ClaimResend takes a rejected request for a resend. storage.ErrNotFound: no such number;
	// storage.ErrConflict: not rejected, or claimed by another resend whose claim has not expired.
	ClaimResend(ctx context.Context, number string, claim storage.ResendClaim) (*storage.WebhookRequest, error)
	// CompleteResendSuccess replaces (or, with a nil Replacement, deletes) the claimed rejected
	// request in one atomic step. storage.ErrConflict: the claim (token) no longer holds.
	CompleteResendSuccess(ctx context.Context, number, token string, s storage.ResendSuccess) error
	// CompleteResendFailure records the new error on the claimed request (attempts+1,
	// log.updated_at/by) and releases the claim. storage.ErrConflict: the claim no longer holds.
	CompleteResendFailure(ctx context.Context, number, token string, f storage.ResendFailure) error

	// InsertInvalidEvents stores invalid events; one whose MsgID is already stored is skipped.
	InsertInvalidEvents(ctx context.Context, evs []storage.InvalidEvent) error
	// ListInvalidEvents returns the newest invalid events first.
	ListInvalidEvents(ctx context.Context, limit int) ([]storage.InvalidEvent, error)

	// ApplyConfig upserts definitions and rules by id (replacing each whole, which clears a
	// definition's disabled state and health), stamps UpdatedAt/UpdatedBy, and changes the config version.
	ApplyConfig(ctx context.Context, defs []config.Definition, rules []config.Rule, user string, at time.Time) error
	ListDefinitions(ctx context.Context) ([]config.Definition, error) // sorted by id
	GetDefinition(ctx context.Context, id string) (*config.Definition, error)
	// DeleteDefinition: storage.ErrNotFound, or storage.ErrDefinitionInUse when a rule names it.
	DeleteDefinition(ctx context.Context, id string) error
	ListRules(ctx context.Context) ([]config.Rule, error) // sorted by id
	GetRule(ctx context.Context, id string) (*config.Rule, error)
	DeleteRule(ctx context.Context, id string) error
	// DisableDefinition sets active=false, disabled_reason and disabled_at, and changes the
	// config version. It reports false when the definition was already inactive or is gone.
	DisableDefinition(ctx context.Context, id, reason string, at time.Time) (bool, error)
	// ConfigVersion changes whenever definitions or rules change; replicas poll it to reload.
	ConfigVersion(ctx context.Context) (int64, error)
	// ReencryptSecrets seals again, under the keyring's primary key, the definitions whose
	// secrets are sealed under another key or in clear, without changing the config version
	// nor anything else of them. Definitions it cannot open are counted in Stale and named in
	// the error; the others are still rewritten.
	ReencryptSecrets(ctx context.Context) (storage.Reencryption, error)

	// RecordFailures adds n failed attempts to a definition's health, starting FailingSince at
	// `at` when it was not failing, and returns the new health.
	RecordFailures(ctx context.Context, id string, n int64, at time.Time) (storage.DefinitionHealth, error)
	// ClearFailures marks a definition healthy (a success came back).
	ClearFailures(ctx context.Context, id string) error

	InsertAudit(ctx context.Context, e storage.AuditEntry) error
	ListAudit(ctx context.Context, limit int) ([]storage.AuditEntry, error) // newest first

	Ping(ctx context.Context) error
	Close(ctx context.Context) error
}
