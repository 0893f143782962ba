package pipeline

import (
	"context"
	"time"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/storage"
)

// Store is what the pipeline needs of a store (storage/mongo or storage/sqlite).
type Store interface {
	ReserveNumbers(ctx context.Context, n int) (first int64, err error)
	InsertRequests(ctx context.Context, reqs []*storage.WebhookRequest) (int, error)
	InsertInvalidEvents(ctx context.Context, evs []storage.InvalidEvent) error

	ApplyConfig(ctx context.Context, defs []config.Definition, rules []config.Rule, user string, at time.Time) error
	ListDefinitions(ctx context.Context) ([]config.Definition, error)
	ListRules(ctx context.Context) ([]config.Rule, error)
	ConfigVersion(ctx context.Context) (int64, error)
	DisableDefinition(ctx context.Context, id, reason string, at time.Time) (bool, error)
	// ReencryptSecrets seals again under the first key of --secrets-key-file what is sealed
	// under another key, or in clear.
	ReencryptSecrets(ctx context.Context) (storage.Reencryption, error)

	RecordFailures(ctx context.Context, id string, n int64, at time.Time) (storage.DefinitionHealth, error)
	ClearFailures(ctx context.Context, id string) error

	Ping(ctx context.Context) error
	Close(ctx context.Context) error
}
