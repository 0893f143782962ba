// Package mongo is the production store: the documents of CONTRACT.md section 5 in MongoDB,
// written without transactions, so it works on a standalone server as on a replica set. It
// behaves like storage/sqlite; both pass storage/storagetest.
//
// Where two writers could race, a single-document operation decides: numbers come from an
// atomic $inc on a counter, a resend claim is a findAndModify on the rejected request, and a
// resend's outcome replaces or deletes that one document filtered on the claim's token, so the
// rejected request and its replacement never both exist. Indexes for every query are created
// at Open.
package mongo

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"github.com/webhookd/webhookd/secrets"
)

// Collection names.
const (
	CollRequests      = "webhook_requests"
	CollInvalidEvents = "invalid_events"
	CollDefinitions   = "webhook_definitions"
	CollRules         = "workflow_rules"
	CollAudit         = "audit_log"
	CollCounters      = "counters"
	CollHealth        = "definition_health"
)

// Counter documents in CollCounters.
const (
	counterRequestSeq    = "webhook_request_seq"
	counterConfigVersion = "config_version"
)

// Store is the MongoDB store. It is safe for concurrent use.
type Store struct {
	client *mongo.Client

	requests, invalid, defs, rules, audit, counters, health *mongo.Collection

	keys *secrets.Keyring // seals definitions' secrets (storage.SealDefinition)
	now  func() time.Time
}

// Option changes how Open sets up the store's client.
type Option func(*options.ClientOptions)

// WithCommandMonitor has the client report every command it sends, and its reply, to m: what
// tests and benchmarks count round trips and bytes with.
func WithCommandMonitor(m *event.CommandMonitor) Option {
	return func(o *options.ClientOptions) { o.SetMonitor(m) }
}

// serverSelectionTimeout bounds an operation's wait for a server (see Open): about the time a
// replica set takes to elect a new primary, so most elections pass without a failed write; one
// that fails is retried anyway.
const serverSelectionTimeout = 10 * time.Second

// Open connects to the MongoDB at uri, checks that it answers, creates the indexes the queries
// need in database, and returns the store, which seals definitions' secrets with keys
// (--secrets-key-file). Close it when done.
func Open(ctx context.Context, uri, database string, keys *secrets.Keyring, opts ...Option) (*Store, error) {
	if database == "" {
		return nil, errors.New("open MongoDB store: empty database name")
	}
	if keys == nil {
		return nil, errors.New("open MongoDB store: no secrets keyring: definitions' secrets are kept encrypted")
	}
	co := clientOptions(uri)
	for _, o := range opts {
		o(co)
	}
	client, err := mongo.Connect(co)
	if err != nil {
		return nil, fmt.Errorf("connect to MongoDB %s: %w", redact(uri), err)
	}
	db := client.Database(database)
	s := &Store{
		client:   client,
		requests: db.Collection(CollRequests),
		invalid:  db.Collection(CollInvalidEvents),
		defs:     db.Collection(CollDefinitions),
		rules:    db.Collection(CollRules),
		audit:    db.Collection(CollAudit),
		counters: db.Collection(CollCounters),
		health:   db.Collection(CollHealth),
		keys:     keys,
		now:      time.Now,
	}
	if err := s.Ping(ctx); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("open MongoDB store %s: %w", redact(uri), err)
	}
	if err := s.ensureIndexes(ctx); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("open MongoDB store %s, database %s: %w", redact(uri), database, err)
	}
	return s, nil
}

// clientOptions are the options of the store's client. It marshals with the driver's default
// registry: the documents (docs.go) say how they are stored. An operation waits at most
// serverSelectionTimeout for a server, unless the URI says otherwise (serverSelectionTimeoutMS):
// the driver's 30 s would hold every write that long before the worker could say the store is
// unreachable and retry it.
func clientOptions(uri string) *options.ClientOptions {
	return options.Client().SetServerSelectionTimeout(serverSelectionTimeout).ApplyURI(uri)
}

// redact keeps credentials out of errors and logs.
func redact(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return "(unparsable URI)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	u.RawQuery = "" // may hold authMechanismProperties, tlsCertificateKeyFilePassword, ...
	return u.String()
}

type namedIndex struct {
	name  string
	model mongo.IndexModel
}

func index(name string, keys bson.D, unique bool) namedIndex {
	o := options.Index().SetName(name)
	if unique {
		o.SetUnique(true)
	}
	return namedIndex{name: name, model: mongo.IndexModel{Keys: keys, Options: o}}
}

func (s *Store) ensureIndexes(ctx context.Context) error {
	seqDesc := bson.E{Key: "seq", Value: -1}
	all := []struct {
		coll    *mongo.Collection
		indexes []namedIndex
	}{
		{s.requests, []namedIndex{
			index("number_unique", bson.D{{Key: "number", Value: 1}}, true),
			index("webhook_id_unique", bson.D{{Key: "webhook_id", Value: 1}}, true),
			index("seq", bson.D{seqDesc}, false),
			index("state_seq", bson.D{{Key: "state", Value: 1}, seqDesc}, false),
			index("entity_entity_id_seq", bson.D{{Key: "entity", Value: 1}, {Key: "entity_id", Value: 1}, seqDesc}, false),
			index("entity_id_seq", bson.D{{Key: "entity_id", Value: 1}, seqDesc}, false),
			index("event_id_seq", bson.D{{Key: "event_id", Value: 1}, seqDesc}, false),
			index("definition_seq", bson.D{{Key: "webhook_definition.id", Value: 1}, seqDesc}, false),
			index("rule_seq", bson.D{{Key: "workflow_rule.id", Value: 1}, seqDesc}, false),
			index("created_at", bson.D{{Key: "log.created_at", Value: -1}}, false),
		}},
		{s.invalid, []namedIndex{
			index("msg_id_unique", bson.D{{Key: "msg_id", Value: 1}}, true),
			index("received_at", bson.D{{Key: "received_at", Value: -1}}, false),
		}},
		{s.defs, []namedIndex{index("id_unique", bson.D{{Key: "id", Value: 1}}, true)}},
		{s.rules, []namedIndex{
			index("id_unique", bson.D{{Key: "id", Value: 1}}, true),
			index("webhook_definitions", bson.D{{Key: "webhook_definitions", Value: 1}}, false),
		}},
		{s.audit, []namedIndex{index("at", bson.D{{Key: "at", Value: -1}}, false)}},
		{s.health, []namedIndex{index("id_unique", bson.D{{Key: "id", Value: 1}}, true)}},
	}
	for _, c := range all {
		missing, err := missingIndexes(ctx, c.coll, c.indexes)
		if err != nil {
			return err
		}
		if len(missing) == 0 {
			continue
		}
		if _, err := c.coll.Indexes().CreateMany(ctx, missing); err != nil {
			return fmt.Errorf("create indexes of %s: %w", c.coll.Name(), err)
		}
	}
	return nil
}

// missingIndexes returns the indexes not there yet, by name. Every replica runs this at start;
// creating only what is missing keeps a rolling restart from sending a burst of createIndexes
// commands (and FerretDB, which the tests use, drops the connection on a createIndexes of
// indexes that already exist).
func missingIndexes(ctx context.Context, coll *mongo.Collection, want []namedIndex) ([]mongo.IndexModel, error) {
	specs, err := coll.Indexes().ListSpecifications(ctx)
	if err != nil {
		return nil, fmt.Errorf("list indexes of %s: %w", coll.Name(), err)
	}
	have := make(map[string]bool, len(specs))
	for _, s := range specs {
		have[s.Name] = true
	}
	var missing []mongo.IndexModel
	for _, ix := range want {
		if !have[ix.name] {
			missing = append(missing, ix.model)
		}
	}
	return missing, nil
}

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx, readpref.Primary()); err != nil {
		return fmt.Errorf("ping MongoDB: %w", err)
	}
	return nil
}

// Close disconnects, waiting for in-flight operations until ctx ends.
func (s *Store) Close(ctx context.Context) error {
	if err := s.client.Disconnect(ctx); err != nil {
		return fmt.Errorf("disconnect from MongoDB: %w", err)
	}
	return nil
}

// norm gives a time the precision and zone of a BSON date.
func norm(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()).UTC() }

// isDuplicateKey reports a duplicate key error code (see mongo.IsDuplicateKeyError).
func isDuplicateKey(code int) bool { return code == 11000 || code == 11001 || code == 12582 }

// retryDuplicate runs an upsert again when it lost a race to insert the same new document:
// MongoDB may answer such an upsert with a duplicate key error instead of updating.
func retryDuplicate(fn func() error) error {
	var err error
	for range 3 {
		if err = fn(); !mongo.IsDuplicateKeyError(err) {
			return err
		}
	}
	return err
}

func incCounter(ctx context.Context, counters *mongo.Collection, name string, n int64) (int64, error) {
	var doc struct {
		Value int64 `bson:"value"`
	}
	err := retryDuplicate(func() error {
		return counters.FindOneAndUpdate(ctx,
			bson.D{{Key: "_id", Value: name}},
			bson.D{{Key: "$inc", Value: bson.D{{Key: "value", Value: n}}}},
			options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After),
		).Decode(&doc)
	})
	if err != nil {
		return 0, err
	}
	return doc.Value, nil
}
