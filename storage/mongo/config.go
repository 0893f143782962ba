package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/storage"
)

func (s *Store) bumpConfigVersion(ctx context.Context) error {
	if _, err := incCounter(ctx, s.counters, counterConfigVersion, 1); err != nil {
		return fmt.Errorf("change config version: %w", err)
	}
	return nil
}

// ApplyConfig upserts definitions, then rules (so a rule never names a definition that is not
// there yet), clears the applied definitions' health, and changes the config version last, so a
// replica that sees the new version reads the whole document. Without a transaction, a failure
// part way leaves the entries written so far; applying the document again completes it. A
// definition's secret rotation follows from the stored one it replaces, read first
// (config.Definition.RotateSecret), and its secrets are sealed before they are written.
func (s *Store) ApplyConfig(ctx context.Context, defs []config.Definition, rules []config.Rule, user string, at time.Time) error {
	defModels := make([]mongo.WriteModel, len(defs))
	defIDs := make([]string, len(defs))
	for i := range defs {
		if defs[i].ID == "" {
			return fmt.Errorf("apply config: webhook definition %d has no id", i)
		}
		defIDs[i] = defs[i].ID
	}
	wrap := func(err error) error {
		return fmt.Errorf("apply config (%d definitions, %d rules): %w", len(defs), len(rules), err)
	}
	stored := map[string]*config.Definition{}
	if len(defs) > 0 {
		cur, err := s.defs.Find(ctx, bson.D{{Key: "id", Value: bson.D{{Key: "$in", Value: defIDs}}}})
		if err != nil {
			return wrap(fmt.Errorf("read webhook definitions: %w", err))
		}
		var olds []definitionDoc
		if err := cur.All(ctx, &olds); err != nil {
			return wrap(fmt.Errorf("read webhook definitions: %w", err))
		}
		for _, doc := range olds {
			// A stored definition whose secrets cannot be opened (a key no longer listed) is
			// replaced whole, without a previous key: applying it again is how it is repaired.
			old := definitionFromDoc(doc)
			if _, err := storage.OpenDefinition(s.keys, &old); err == nil {
				stored[old.ID] = &old
			}
		}
	}
	for i := range defs {
		d := defs[i]
		d.DisabledReason, d.DisabledAt = "", nil
		d.UpdatedAt, d.UpdatedBy = at, user
		d.RotateSecret(stored[d.ID], at)
		sealed, err := storage.SealDefinition(s.keys, d)
		if err != nil {
			return wrap(err)
		}
		doc := newDefinitionDoc(sealed)
		defModels[i] = mongo.NewReplaceOneModel().SetFilter(bson.D{{Key: "id", Value: d.ID}}).SetReplacement(&doc).SetUpsert(true)
	}
	ruleModels := make([]mongo.WriteModel, len(rules))
	for i := range rules {
		r := rules[i]
		if r.ID == "" {
			return fmt.Errorf("apply config: workflow rule %d has no id", i)
		}
		r.UpdatedAt, r.UpdatedBy = at, user
		doc := newRuleDoc(r)
		ruleModels[i] = mongo.NewReplaceOneModel().SetFilter(bson.D{{Key: "id", Value: r.ID}}).SetReplacement(&doc).SetUpsert(true)
	}
	if len(defModels) > 0 {
		if err := retryDuplicate(func() error {
			_, err := s.defs.BulkWrite(ctx, defModels)
			return err
		}); err != nil {
			return wrap(fmt.Errorf("upsert webhook definitions: %w", err))
		}
		if _, err := s.health.DeleteMany(ctx, bson.D{{Key: "id", Value: bson.D{{Key: "$in", Value: defIDs}}}}); err != nil {
			return wrap(fmt.Errorf("clear health of webhook definitions: %w", err))
		}
	}
	if len(ruleModels) > 0 {
		if err := retryDuplicate(func() error {
			_, err := s.rules.BulkWrite(ctx, ruleModels)
			return err
		}); err != nil {
			return wrap(fmt.Errorf("upsert workflow rules: %w", err))
		}
	}
	if err := s.bumpConfigVersion(ctx); err != nil {
		return wrap(err)
	}
	return nil
}

// ListDefinitions returns every definition, sorted by id, its secrets opened.
func (s *Store) ListDefinitions(ctx context.Context) ([]config.Definition, error) {
	cur, err := s.defs.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("list webhook definitions: %w", err)
	}
	var docs []definitionDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list webhook definitions: %w", err)
	}
	out := make([]config.Definition, len(docs))
	var errs []error
	for i, doc := range docs {
		out[i] = definitionFromDoc(doc)
		if _, err := storage.OpenDefinition(s.keys, &out[i]); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("list webhook definitions: %w", err)
	}
	return out, nil
}

// GetDefinition returns one definition, its secrets opened.
func (s *Store) GetDefinition(ctx context.Context, id string) (*config.Definition, error) {
	var doc definitionDoc
	err := s.defs.FindOne(ctx, bson.D{{Key: "id", Value: id}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, fmt.Errorf("webhook definition %s: %w", id, storage.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get webhook definition %s: %w", id, err)
	}
	d := definitionFromDoc(doc)
	if _, err := storage.OpenDefinition(s.keys, &d); err != nil {
		return nil, fmt.Errorf("get webhook definition %s: %w", id, err)
	}
	return &d, nil
}

// DeleteDefinition deletes a definition that no rule names, with its health. The check and the
// delete are two operations: a rule naming the definition applied in between is not seen (the
// worker skips a rule's unknown definitions).
func (s *Store) DeleteDefinition(ctx context.Context, id string) error {
	n, err := s.defs.CountDocuments(ctx, bson.D{{Key: "id", Value: id}})
	if err != nil {
		return fmt.Errorf("delete webhook definition %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("delete webhook definition %s: %w", id, storage.ErrNotFound)
	}
	var r struct {
		ID string `bson:"id"`
	}
	err = s.rules.FindOne(ctx, bson.D{{Key: "webhook_definitions", Value: id}},
		options.FindOne().SetProjection(bson.D{{Key: "id", Value: 1}}).SetSort(bson.D{{Key: "id", Value: 1}})).Decode(&r)
	switch {
	case err == nil:
		return fmt.Errorf("delete webhook definition %s: workflow rule %s names it: %w", id, r.ID, storage.ErrDefinitionInUse)
	case !errors.Is(err, mongo.ErrNoDocuments):
		return fmt.Errorf("delete webhook definition %s: find rules naming it: %w", id, err)
	}
	res, err := s.defs.DeleteOne(ctx, bson.D{{Key: "id", Value: id}})
	if err != nil {
		return fmt.Errorf("delete webhook definition %s: %w", id, err)
	}
	if res.DeletedCount == 0 {
		return fmt.Errorf("delete webhook definition %s: %w", id, storage.ErrNotFound)
	}
	if _, err := s.health.DeleteOne(ctx, bson.D{{Key: "id", Value: id}}); err != nil {
		return fmt.Errorf("delete webhook definition %s: clear health: %w", id, err)
	}
	if err := s.bumpConfigVersion(ctx); err != nil {
		return fmt.Errorf("delete webhook definition %s: %w", id, err)
	}
	return nil
}

// ListRules returns every rule, sorted by id.
func (s *Store) ListRules(ctx context.Context) ([]config.Rule, error) {
	cur, err := s.rules.Find(ctx, bson.D{}, options.Find().SetSort(bson.D{{Key: "id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("list workflow rules: %w", err)
	}
	var docs []ruleDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list workflow rules: %w", err)
	}
	out := make([]config.Rule, len(docs))
	for i, doc := range docs {
		out[i] = ruleFromDoc(doc)
	}
	return out, nil
}

// GetRule returns one rule.
func (s *Store) GetRule(ctx context.Context, id string) (*config.Rule, error) {
	var doc ruleDoc
	err := s.rules.FindOne(ctx, bson.D{{Key: "id", Value: id}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, fmt.Errorf("workflow rule %s: %w", id, storage.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get workflow rule %s: %w", id, err)
	}
	r := ruleFromDoc(doc)
	return &r, nil
}

// DeleteRule deletes a rule.
func (s *Store) DeleteRule(ctx context.Context, id string) error {
	res, err := s.rules.DeleteOne(ctx, bson.D{{Key: "id", Value: id}})
	if err != nil {
		return fmt.Errorf("delete workflow rule %s: %w", id, err)
	}
	if res.DeletedCount == 0 {
		return fmt.Errorf("delete workflow rule %s: %w", id, storage.ErrNotFound)
	}
	if err := s.bumpConfigVersion(ctx); err != nil {
		return fmt.Errorf("delete workflow rule %s: %w", id, err)
	}
	return nil
}

// DisableDefinition deactivates an active definition; the filter on active makes it report true
// to exactly one of several concurrent callers.
func (s *Store) DisableDefinition(ctx context.Context, id, reason string, at time.Time) (bool, error) {
	res, err := s.defs.UpdateOne(ctx,
		bson.D{{Key: "id", Value: id}, {Key: "active", Value: true}},
		bson.D{{Key: "$set", Value: bson.D{
			{Key: "active", Value: false},
			{Key: "disabled_reason", Value: reason},
			{Key: "disabled_at", Value: at},
		}}})
	if err != nil {
		return false, fmt.Errorf("disable webhook definition %s: %w", id, err)
	}
	if res.ModifiedCount == 0 {
		return false, nil
	}
	if err := s.bumpConfigVersion(ctx); err != nil {
		return true, fmt.Errorf("disable webhook definition %s: %w", id, err)
	}
	return true, nil
}

// ConfigVersion returns the config version; 0 before any change.
func (s *Store) ConfigVersion(ctx context.Context) (int64, error) {
	var doc struct {
		Value int64 `bson:"value"`
	}
	err := s.counters.FindOne(ctx, bson.D{{Key: "_id", Value: counterConfigVersion}}).Decode(&doc)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return 0, fmt.Errorf("read config version: %w", err)
	}
	return doc.Value, nil
}

// RecordFailures adds failed attempts to a definition's health with one upsert: a definition
// that was not failing (no document) starts failing at `at`.
func (s *Store) RecordFailures(ctx context.Context, id string, n int64, at time.Time) (storage.DefinitionHealth, error) {
	if n < 0 {
		return storage.DefinitionHealth{}, fmt.Errorf("record %d failures of webhook definition %s: negative count", n, id)
	}
	var doc healthDoc
	err := retryDuplicate(func() error {
		return s.health.FindOneAndUpdate(ctx,
			bson.D{{Key: "id", Value: id}},
			bson.D{
				{Key: "$inc", Value: bson.D{{Key: "failures", Value: n}}},
				{Key: "$setOnInsert", Value: bson.D{{Key: "failing_since", Value: at}}},
			},
			options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After),
		).Decode(&doc)
	})
	if err != nil {
		return storage.DefinitionHealth{}, fmt.Errorf("record %d failures of webhook definition %s: %w", n, id, err)
	}
	return healthFromDoc(doc), nil
}

// ClearFailures marks a definition healthy.
func (s *Store) ClearFailures(ctx context.Context, id string) error {
	if _, err := s.health.DeleteOne(ctx, bson.D{{Key: "id", Value: id}}); err != nil {
		return fmt.Errorf("clear failures of webhook definition %s: %w", id, err)
	}
	return nil
}

// ReencryptSecrets seals again, under the primary key, every definition holding a secret sealed
// under another key or in clear (an upgraded store). Each is rewritten with one update that sets
// only its secret fields, filtered on the stored secret_key as read: sealing draws a new nonce,
// so an apply in between changes it and the update then leaves the newer document alone (the
// next run sees it if it is still stale). Nothing else of the document (its disabled state) is
// touched, and the config version does not change. Definitions that cannot be opened stay as
// they are, counted in Stale, and the error names each of them.
func (s *Store) ReencryptSecrets(ctx context.Context) (storage.Reencryption, error) {
	res := storage.Reencryption{KeyID: s.keys.Primary()}
	cur, err := s.defs.Find(ctx, bson.D{})
	if err != nil {
		return res, fmt.Errorf("re-encrypt secrets: %w", err)
	}
	var docs []definitionDoc
	if err := cur.All(ctx, &docs); err != nil {
		return res, fmt.Errorf("re-encrypt secrets: %w", err)
	}
	var errs []error
	now := s.now()
	for _, doc := range docs {
		raw := definitionFromDoc(doc)
		if !storage.NeedsReseal(s.keys, &raw) {
			continue
		}
		sealed, err := storage.Reseal(s.keys, raw, now)
		if err != nil {
			res.Stale++
			errs = append(errs, err)
			continue
		}
		set := bson.D{{Key: "secret_key", Value: sealed.SecretKey}, {Key: "url", Value: sealed.URL}}
		if len(sealed.Headers) > 0 {
			set = append(set, bson.E{Key: "headers", Value: sealed.Headers})
		}
		update := bson.D{}
		if sealed.PreviousSecretKey != "" {
			set = append(set, bson.E{Key: "previous_secret_key", Value: sealed.PreviousSecretKey},
				bson.E{Key: "secret_rotated_at", Value: sealed.SecretRotatedAt})
		} else {
			update = append(update, bson.E{Key: "$unset", Value: bson.D{{Key: "previous_secret_key", Value: ""}, {Key: "secret_rotated_at", Value: ""}}})
		}
		update = append(bson.D{{Key: "$set", Value: set}}, update...)
		r, err := s.defs.UpdateOne(ctx, bson.D{{Key: "id", Value: raw.ID}, {Key: "secret_key", Value: raw.SecretKey}}, update)
		if err != nil {
			res.Stale++
			errs = append(errs, fmt.Errorf("webhook definition %s: write: %w", raw.ID, err))
			continue
		}
		if r.MatchedCount == 0 {
			// Changed or deleted meanwhile (another replica re-encrypting at the same time, or an
			// apply): stale only if what is there now still needs it; the next run looks again.
			var curDoc definitionDoc
			err := s.defs.FindOne(ctx, bson.D{{Key: "id", Value: raw.ID}}).Decode(&curDoc)
			current := definitionFromDoc(curDoc)
			switch {
			case errors.Is(err, mongo.ErrNoDocuments):
			case err != nil || storage.NeedsReseal(s.keys, &current):
				res.Stale++
			}
			continue
		}
		res.Reencrypted++
	}
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("re-encrypt secrets under key %s: %w", res.KeyID, err)
	}
	return res, nil
}
