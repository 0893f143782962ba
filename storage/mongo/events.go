package mongo

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/webhookd/webhookd/storage"
)

// InsertInvalidEvents stores invalid events with one unordered InsertMany; a duplicate msg_id (a
// redelivered message) is skipped. Bodies are cut to storage.MaxInvalidBody; invalid UTF-8
// becomes U+FFFD.
func (s *Store) InsertInvalidEvents(ctx context.Context, evs []storage.InvalidEvent) error {
	if len(evs) == 0 {
		return nil
	}
	docs := make([]any, len(evs))
	for i, e := range evs {
		d, err := storage.PrepareInvalidEvent(e)
		if err != nil {
			return fmt.Errorf("insert invalid events: event %d: %w", i, err)
		}
		docs[i] = newInvalidEventDoc(d)
	}
	_, err := s.invalid.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err == nil {
		return nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
		return fmt.Errorf("insert %d invalid events: %w", len(evs), err)
	}
	var errs []error
	for _, we := range bwe.WriteErrors {
		if !isDuplicateKey(we.Code) {
			errs = append(errs, fmt.Errorf("insert invalid event %d: %w", we.Index, we))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("insert %d invalid events: %w", len(evs), err)
	}
	return nil
}

// ListInvalidEvents returns the newest invalid events first.
func (s *Store) ListInvalidEvents(ctx context.Context, limit int) ([]storage.InvalidEvent, error) {
	cur, err := s.invalid.Find(ctx, bson.D{}, options.Find().
		SetSort(bson.D{{Key: "received_at", Value: -1}, {Key: "_id", Value: -1}}).
		SetLimit(int64(storage.ClampLimit(limit))))
	if err != nil {
		return nil, fmt.Errorf("list invalid events: %w", err)
	}
	var docs []invalidEventDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list invalid events: %w", err)
	}
	out := make([]storage.InvalidEvent, len(docs))
	for i, doc := range docs {
		out[i] = invalidEventFromDoc(doc)
	}
	return out, nil
}

// InsertAudit appends an audit entry.
func (s *Store) InsertAudit(ctx context.Context, e storage.AuditEntry) error {
	e.Request = storage.ValidUTF8(e.Request)
	e.Result = storage.ValidUTF8(e.Result)
	if _, err := s.audit.InsertOne(ctx, newAuditDoc(e)); err != nil {
		return fmt.Errorf("insert audit entry for %s by %s: %w", e.Command, e.User, err)
	}
	return nil
}

// ListAudit returns the newest audit entries first.
func (s *Store) ListAudit(ctx context.Context, limit int) ([]storage.AuditEntry, error) {
	cur, err := s.audit.Find(ctx, bson.D{}, options.Find().
		SetSort(bson.D{{Key: "at", Value: -1}, {Key: "_id", Value: -1}}).
		SetLimit(int64(storage.ClampLimit(limit))))
	if err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	var docs []auditDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	out := make([]storage.AuditEntry, len(docs))
	for i, doc := range docs {
		out[i] = auditFromDoc(doc)
	}
	return out, nil
}
