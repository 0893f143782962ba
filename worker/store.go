package worker

import (
	"context"
	"time"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/console"
	"github.com/webhookd/webhookd/control"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/storage/mongo"
	"github.com/webhookd/webhookd/storage/sqlite"
)

// Store is what the worker needs of a store (storage/mongo or storage/sqlite).
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

// openedStore is a store as the worker opens it: the pipeline's Store and what the control
// plane and the web console need of it. Both stores satisfy it at compile time, so a missing
// method is a build error, never a failed start.
type openedStore interface {
	Store
	control.Store
	console.Store
}

var (
	_ openedStore = (*sqlite.Store)(nil)
	_ openedStore = (*mongo.Store)(nil)
)
