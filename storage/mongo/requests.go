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

// ReserveNumbers reserves the block [first, first+n) with one atomic $inc. The first block
// starts at 1.
func (s *Store) ReserveNumbers(ctx context.Context, n int) (int64, error) {
	if n <= 0 {
		return 0, fmt.Errorf("reserve %d request numbers: want at least one", n)
	}
	last, err := incCounter(ctx, s.counters, counterRequestSeq, int64(n))
	if err != nil {
		return 0, fmt.Errorf("reserve %d request numbers: %w", n, err)
	}
	return last - int64(n) + 1, nil
}

// InsertRequests writes the batch with one unordered InsertMany. A document refused for a
// duplicate key is skipped when its webhook_id is stored (the delivery was written before, under
// this number or another); otherwise its number belongs to another delivery, which is reported,
// wrapping storage.ErrConflict. The webhook_id is looked up rather than read from the error,
// because the server names only one of the indexes a document collides on.
func (s *Store) InsertRequests(ctx context.Context, reqs []*storage.WebhookRequest) (int, error) {
	if len(reqs) == 0 {
		return 0, nil
	}
	docs := make([]any, len(reqs))
	for i, r := range reqs {
		d, err := storage.PrepareRequest(r)
		if err != nil {
			return 0, fmt.Errorf("insert webhook requests: %w", err)
		}
		docs[i] = newRequestDoc(d)
	}
	_, err := s.requests.InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
	if err == nil {
		return len(reqs), nil
	}
	var bwe mongo.BulkWriteException
	if !errors.As(err, &bwe) || bwe.WriteConcernError != nil || len(bwe.WriteErrors) == 0 {
		return 0, fmt.Errorf("insert %d webhook requests: %w", len(reqs), err)
	}
	var errs []error
	var dupIDs []string
	for _, we := range bwe.WriteErrors {
		if we.Index < 0 || we.Index >= len(reqs) {
			return 0, fmt.Errorf("insert %d webhook requests: %w", len(reqs), err)
		}
		if isDuplicateKey(we.Code) {
			dupIDs = append(dupIDs, reqs[we.Index].WebhookID)
		}
	}
	stored := map[string]bool{}
	if len(dupIDs) > 0 {
		cur, ferr := s.requests.Find(ctx, bson.D{{Key: "webhook_id", Value: bson.D{{Key: "$in", Value: dupIDs}}}},
			options.Find().SetProjection(bson.D{{Key: "webhook_id", Value: 1}}))
		if ferr != nil {
			return 0, fmt.Errorf("insert %d webhook requests: look up duplicate webhook ids: %w", len(reqs), ferr)
		}
		var found []struct {
			WebhookID string `bson:"webhook_id"`
		}
		if ferr := cur.All(ctx, &found); ferr != nil {
			return 0, fmt.Errorf("insert %d webhook requests: look up duplicate webhook ids: %w", len(reqs), ferr)
		}
		for _, f := range found {
			stored[f.WebhookID] = true
		}
	}
	for _, we := range bwe.WriteErrors {
		r := reqs[we.Index]
		switch {
		case !isDuplicateKey(we.Code):
			errs = append(errs, fmt.Errorf("insert webhook request %s: %w", r.Number, we))
		case !stored[r.WebhookID]:
			errs = append(errs, fmt.Errorf("insert webhook request %s (webhook_id %s): number already used by another delivery: %w: %w",
				r.Number, r.WebhookID, storage.ErrConflict, we))
		}
	}
	return len(reqs) - len(bwe.WriteErrors), errors.Join(errs...)
}

// GetRequest returns the request with that number.
func (s *Store) GetRequest(ctx context.Context, number string) (*storage.WebhookRequest, error) {
	var doc requestDoc
	err := s.requests.FindOne(ctx, bson.D{{Key: "number", Value: number}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, fmt.Errorf("webhook request %s: %w", number, storage.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get webhook request %s: %w", number, err)
	}
	return requestFromDoc(doc), nil
}

// requestFilter renders a filter (and a cursor) as a query; its fields lead the indexes.
func requestFilter(f storage.Filter, beforeSeq int64) bson.D {
	q := bson.D{}
	eq := func(key, v string) {
		if v != "" {
			q = append(q, bson.E{Key: key, Value: v})
		}
	}
	eq("state", f.State)
	eq("entity", f.Entity)
	eq("entity_id", f.EntityID)
	eq("event_id", f.EventID)
	eq("webhook_definition.id", f.WebhookDefinition)
	eq("workflow_rule.id", f.WorkflowRule)
	if !f.CreatedFrom.IsZero() || !f.CreatedTo.IsZero() {
		r := bson.D{}
		if !f.CreatedFrom.IsZero() {
			r = append(r, bson.E{Key: "$gte", Value: norm(f.CreatedFrom)})
		}
		if !f.CreatedTo.IsZero() {
			r = append(r, bson.E{Key: "$lt", Value: norm(f.CreatedTo)})
		}
		q = append(q, bson.E{Key: "log.created_at", Value: r})
	}
	if beforeSeq > 0 {
		q = append(q, bson.E{Key: "seq", Value: bson.D{{Key: "$lt", Value: beforeSeq}}})
	}
	return q
}

// ListRequests returns a page of requests, highest seq first.
func (s *Store) ListRequests(ctx context.Context, q storage.ListQuery) ([]*storage.WebhookRequest, error) {
	limit := storage.ClampLimit(q.Limit)
	cur, err := s.requests.Find(ctx, requestFilter(q.Filter, q.BeforeSeq),
		options.Find().SetSort(bson.D{{Key: "seq", Value: -1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("list webhook requests: %w", err)
	}
	docs := make([]requestDoc, 0, limit)
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("list webhook requests: %w", err)
	}
	out := make([]*storage.WebhookRequest, len(docs))
	for i, doc := range docs {
		out[i] = requestFromDoc(doc)
	}
	return out, nil
}

// CountRequests counts the requests the filter selects.
func (s *Store) CountRequests(ctx context.Context, f storage.Filter) (int64, error) {
	n, err := s.requests.CountDocuments(ctx, requestFilter(f, 0))
	if err != nil {
		return 0, fmt.Errorf("count webhook requests: %w", err)
	}
	return n, nil
}

// deleteChunk bounds the size of one $in.
const deleteChunk = 1000

// DeleteRequests deletes the given numbers and returns those that existed. Without a
// transaction it finds them, then deletes them: a number deleted by someone else in between is
// reported as deleted here too, which is what the caller asked for.
func (s *Store) DeleteRequests(ctx context.Context, numbers []string) ([]string, error) {
	deleted := make([]string, 0, len(numbers))
	for start := 0; start < len(numbers); start += deleteChunk {
		chunk := numbers[start:min(start+deleteChunk, len(numbers))]
		cur, err := s.requests.Find(ctx, bson.D{{Key: "number", Value: bson.D{{Key: "$in", Value: chunk}}}},
			options.Find().SetProjection(bson.D{{Key: "number", Value: 1}}))
		if err != nil {
			return deleted, fmt.Errorf("delete %d webhook requests: find: %w", len(numbers), err)
		}
		var found []struct {
			Number string `bson:"number"`
		}
		if err := cur.All(ctx, &found); err != nil {
			return deleted, fmt.Errorf("delete %d webhook requests: find: %w", len(numbers), err)
		}
		if len(found) == 0 {
			continue
		}
		nums := make([]string, len(found))
		for i, f := range found {
			nums[i] = f.Number
		}
		if _, err := s.requests.DeleteMany(ctx, bson.D{{Key: "number", Value: bson.D{{Key: "$in", Value: nums}}}}); err != nil {
			return deleted, fmt.Errorf("delete %d webhook requests: %w", len(numbers), err)
		}
		deleted = append(deleted, nums...)
	}
	return deleted, nil
}

// claimFilter selects the request number while token's claim holds.
func claimFilter(number, token string) bson.D {
	return bson.D{{Key: "number", Value: number}, {Key: "resend_claim.token", Value: token}}
}

// ClaimResend claims a rejected request whose claim is absent or expired, with one
// findAndModify; a follow-up read tells a missing request from a conflict.
func (s *Store) ClaimResend(ctx context.Context, number string, claim storage.ResendClaim) (*storage.WebhookRequest, error) {
	if claim.Token == "" {
		return nil, fmt.Errorf("claim resend of %s: empty token", number)
	}
	filter := bson.D{
		{Key: "number", Value: number},
		{Key: "state", Value: storage.StateRejected},
		{Key: "$or", Value: bson.A{
			bson.D{{Key: "resend_claim", Value: nil}}, // absent (or null)
			bson.D{{Key: "resend_claim.until", Value: bson.D{{Key: "$lt", Value: s.now()}}}},
		}},
	}
	update := bson.D{{Key: "$set", Value: bson.D{{Key: "resend_claim", Value: bson.D{
		{Key: "token", Value: claim.Token},
		{Key: "by", Value: claim.By},
		{Key: "until", Value: claim.Until},
	}}}}}
	var doc requestDoc
	err := s.requests.FindOneAndUpdate(ctx, filter, update,
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&doc)
	if err == nil {
		return requestFromDoc(doc), nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return nil, fmt.Errorf("claim resend of webhook request %s: %w", number, err)
	}
	var cur struct {
		State string `bson:"state"`
		Claim *struct {
			Until bson.DateTime `bson:"until"`
		} `bson:"resend_claim"`
	}
	err = s.requests.FindOne(ctx, bson.D{{Key: "number", Value: number}},
		options.FindOne().SetProjection(bson.D{{Key: "state", Value: 1}, {Key: "resend_claim", Value: 1}})).Decode(&cur)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return nil, fmt.Errorf("claim resend of webhook request %s: %w", number, storage.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("claim resend of webhook request %s: %w", number, err)
	case cur.State != storage.StateRejected:
		return nil, fmt.Errorf("claim resend of webhook request %s: state is %s, not %s: %w", number, cur.State, storage.StateRejected, storage.ErrConflict)
	case cur.Claim != nil:
		return nil, fmt.Errorf("claim resend of webhook request %s: already claimed by another resend until %s: %w",
			number, cur.Claim.Until.Time().UTC().Format("2006-01-02T15:04:05.000Z07:00"), storage.ErrConflict)
	default:
		// Released between the two reads: the caller may try again.
		return nil, fmt.Errorf("claim resend of webhook request %s: claim changed while claiming: %w", number, storage.ErrConflict)
	}
}

// CompleteResendSuccess replaces (or deletes) the claimed request: one single-document write
// filtered on the claim's token, so the rejected request and its replacement never both exist,
// and a second completion finds nothing.
func (s *Store) CompleteResendSuccess(ctx context.Context, number, token string, rs storage.ResendSuccess) error {
	filter := claimFilter(number, token)
	if rs.Replacement == nil {
		res, err := s.requests.DeleteOne(ctx, filter)
		if err != nil {
			return fmt.Errorf("complete resend of webhook request %s: delete: %w", number, err)
		}
		if res.DeletedCount == 0 {
			return fmt.Errorf("complete resend of webhook request %s: claim no longer held: %w", number, storage.ErrConflict)
		}
		return nil
	}
	repl, err := storage.PrepareRequest(rs.Replacement)
	if err != nil {
		return fmt.Errorf("complete resend of webhook request %s: replacement: %w", number, err)
	}
	res, err := s.requests.ReplaceOne(ctx, filter, newRequestDoc(repl))
	if mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("complete resend of webhook request %s: replacement %s: its number or webhook_id is already stored: %w: %w",
			number, repl.Number, storage.ErrConflict, err)
	}
	if err != nil {
		return fmt.Errorf("complete resend of webhook request %s: replace with %s: %w", number, repl.Number, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("complete resend of webhook request %s: claim no longer held: %w", number, storage.ErrConflict)
	}
	return nil
}

// CompleteResendFailure records the new error and releases the claim, in one update filtered on
// the claim's token. The stored response becomes the new attempt's (none, when no response
// came), so it always explains the error.
func (s *Store) CompleteResendFailure(ctx context.Context, number, token string, f storage.ResendFailure) error {
	f = storage.PrepareFailure(f)
	set := bson.D{
		{Key: "error_code", Value: f.ErrorCode},
		{Key: "error_description", Value: f.ErrorDescription},
		{Key: "log.updated_at", Value: f.At},
		{Key: "log.updated_by", Value: f.By},
	}
	unset := bson.D{{Key: "resend_claim", Value: ""}}
	if f.Response != nil {
		set = append(set, bson.E{Key: "response", Value: newResponseDoc(f.Response)})
	} else {
		unset = append(unset, bson.E{Key: "response", Value: ""})
	}
	res, err := s.requests.UpdateOne(ctx, claimFilter(number, token), bson.D{
		{Key: "$set", Value: set},
		{Key: "$inc", Value: bson.D{{Key: "attempts", Value: 1}}},
		{Key: "$unset", Value: unset},
	})
	if err != nil {
		return fmt.Errorf("complete resend of webhook request %s: %w", number, err)
	}
	if res.MatchedCount == 0 {
		return fmt.Errorf("complete resend of webhook request %s: claim no longer held: %w", number, storage.ErrConflict)
	}
	return nil
}
