package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/storage"
)

// pageSize is how many requests bulk work reads from the store at a time.
const pageSize = 200

func (r *Responder) requestsList(ctx context.Context, c *call) (any, *controlapi.Error) {
	var req controlapi.ListRequest
	if e := decode(c.body, &req); e != nil {
		return nil, e
	}
	limit := controlapi.DefaultLimit
	if req.Limit != nil {
		if *req.Limit < 1 || *req.Limit > controlapi.MaxLimit {
			return nil, errorf(controlapi.CodeBadRequest, `field "limit" is %d: want 1 to %d`, *req.Limit, controlapi.MaxLimit)
		}
		limit = *req.Limit
	}
	f, e := filterToStorage(req.Filter)
	if e != nil {
		return nil, e
	}
	var before int64
	if req.After != "" {
		seq, err := decodeCursor(req.After)
		if err != nil {
			return nil, errorf(controlapi.CodeBadRequest, `field "after": %v`, err)
		}
		before = seq
	}
	// One more than asked tells whether there is a next page, so the last page has no "next".
	// The store returns at most MaxLimit: a full page of MaxLimit asks for the one after it.
	items, err := r.o.Store.ListRequests(ctx, storage.ListQuery{Filter: f, Limit: min(limit+1, controlapi.MaxLimit), BeforeSeq: before})
	if err != nil {
		return nil, internal("list webhook requests", err)
	}
	more := len(items) > limit
	if !more && len(items) == controlapi.MaxLimit {
		next, err := r.o.Store.ListRequests(ctx, storage.ListQuery{Filter: f, Limit: 1, BeforeSeq: items[len(items)-1].Seq})
		if err != nil {
			return nil, internal("list webhook requests", err)
		}
		more = len(next) > 0
	}
	items = items[:min(len(items), limit)]
	// Requests carry bodies of up to 64 KiB each: a page is cut short where its reply would no
	// longer fit a NATS message, and "next" goes on from there.
	budget := r.nc.MaxPayload() - replyOverhead
	res := listReply{Items: make([]json.RawMessage, 0, len(items))}
	size := 0
	for i, wr := range items {
		// Masked on the way out too: what an older webhookd stored before a name joined the
		// list is shown masked all the same.
		b, err := json.Marshal(wr.Mask())
		if err != nil {
			return nil, internal("encode webhook request "+wr.Number, err)
		}
		if i > 0 && int64(size+len(b)+1) > budget {
			more = true
			items = items[:i]
			break
		}
		size += len(b) + 1
		res.Items = append(res.Items, b)
	}
	if more && len(items) > 0 {
		res.Next = encodeCursor(items[len(items)-1].Seq)
	}
	return res, nil
}

// listReply is requests.list's result as sent: items already encoded, to measure them.
type listReply struct {
	Items []json.RawMessage `json:"items"`
	Next  string            `json:"next"`
}

// replyOverhead is room left in a NATS message for the envelope around a list of items.
const replyOverhead = 4 << 10

func (r *Responder) requestsGet(ctx context.Context, c *call) (any, *controlapi.Error) {
	var req controlapi.GetRequest
	if e := decode(c.body, &req); e != nil {
		return nil, e
	}
	if req.Number == "" {
		return nil, errorf(controlapi.CodeBadRequest, `field "number" is required`)
	}
	wr, err := r.o.Store.GetRequest(ctx, req.Number)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errorf(controlapi.CodeNotFound, "webhook request %s does not exist", req.Number)
	}
	if err != nil {
		return nil, internal("get webhook request "+req.Number, err)
	}
	return controlapi.ItemResult[*storage.WebhookRequest]{Item: wr.Mask()}, nil
}

// bulk is a checked requests.delete or requests.resend request.
type bulk struct {
	numbers  []string // deduplicated, in the order given; nil: by filter
	filter   storage.Filter
	progress bool
}

// decodeBulk runs the checks of delete and resend in the contract's order: BAD_REQUEST, then
// USER_REQUIRED, then FILTER_REQUIRED. rejectedOnly (resend) refuses a filter on successful
// requests and narrows the filter to rejected ones.
func decodeBulk(c *call, rejectedOnly bool) (*bulk, *controlapi.Error) {
	var req controlapi.BulkRequest
	if e := decode(c.body, &req); e != nil {
		return nil, e
	}
	c.user = req.User
	if req.Numbers != nil && req.Filter != nil {
		return nil, errorf(controlapi.CodeBadRequest, `give "numbers" or "filter", not both`)
	}
	if len(req.Numbers) > controlapi.MaxNumbers {
		return nil, errorf(controlapi.CodeBadRequest, `field "numbers" has %d entries, at most %d are allowed: use a filter for more`, len(req.Numbers), controlapi.MaxNumbers)
	}
	for i, n := range req.Numbers {
		if n == "" {
			return nil, errorf(controlapi.CodeBadRequest, `field "numbers"[%d] is empty`, i)
		}
	}
	b := &bulk{progress: req.Progress}
	if req.Filter != nil {
		f, e := filterToStorage(*req.Filter)
		if e != nil {
			return nil, e
		}
		if rejectedOnly && f.State == storage.StateSuccessful {
			return nil, errorf(controlapi.CodeBadRequest, `filter.state "successful": only rejected requests can be resent (leave state out, or use "rejected")`)
		}
		b.filter = f
	}
	if e := c.requireUser(req.User); e != nil {
		return nil, e
	}
	if req.Numbers != nil {
		b.numbers = dedupe(req.Numbers)
		return b, nil
	}
	if b.filter.IsEmpty() {
		return nil, errorf(controlapi.CodeFilterRequired, `give "numbers", or a "filter" with at least one field: an empty filter would select every request`)
	}
	if rejectedOnly {
		b.filter.State = storage.StateRejected
	}
	return b, nil
}

func dedupe(list []string) []string {
	seen := make(map[string]bool, len(list))
	out := make([]string, 0, len(list))
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func (r *Responder) requestsDelete(ctx context.Context, c *call) (any, *controlapi.Error) {
	b, e := decodeBulk(c, false)
	if e != nil {
		return nil, e
	}
	if b.numbers != nil {
		deleted, err := r.o.Store.DeleteRequests(ctx, b.numbers)
		if err != nil {
			return nil, internal(fmt.Sprintf("delete %d webhook requests", len(b.numbers)), err)
		}
		res := controlapi.DeleteResult{Deleted: len(deleted), NotFound: []string{}}
		gone := make(map[string]bool, len(deleted))
		for _, n := range deleted {
			gone[n] = true
		}
		for _, n := range b.numbers {
			if !gone[n] {
				res.NotFound = append(res.NotFound, n)
			}
		}
		c.summary = fmt.Sprintf("deleted %d, not found %d", res.Deleted, len(res.NotFound))
		return res, nil
	}
	return r.deleteByFilter(ctx, c, b)
}

// deleteByFilter deletes page by page, newest first. The cursor only moves down, so requests
// that arrive meanwhile (higher numbers) are not deleted: the command deletes what matched
// when it started.
func (r *Responder) deleteByFilter(ctx context.Context, c *call, b *bulk) (any, *controlapi.Error) {
	total, err := r.o.Store.CountRequests(ctx, b.filter)
	if err != nil {
		return nil, internal("count webhook requests", err)
	}
	t := r.track(c, b.progress, total)
	defer t.stop()
	deleted := 0
	var before int64
	for {
		if r.isStopping() {
			t.stop()
			c.summary = fmt.Sprintf("interrupted after deleting %d", deleted)
			return nil, errorf(controlapi.CodeInterrupted, "webhookd is shutting down: deleted %d of about %d; send the command again to delete the rest", deleted, total)
		}
		page, err := r.o.Store.ListRequests(ctx, storage.ListQuery{Filter: b.filter, Limit: pageSize, BeforeSeq: before})
		if err != nil {
			return nil, internal(fmt.Sprintf("list webhook requests to delete (after deleting %d)", deleted), err)
		}
		if len(page) == 0 {
			break
		}
		numbers := make([]string, len(page))
		for i, wr := range page {
			numbers[i] = wr.Number
		}
		before = page[len(page)-1].Seq
		gone, err := r.o.Store.DeleteRequests(ctx, numbers)
		if err != nil {
			return nil, internal(fmt.Sprintf("delete webhook requests (after deleting %d)", deleted), err)
		}
		deleted += len(gone)
		t.add(int64(len(page)))
		if int64(deleted) > total {
			t.setTotal(int64(deleted))
		}
		if len(page) < pageSize {
			break
		}
	}
	t.setTotal(t.done.Load())
	c.summary = fmt.Sprintf("deleted %d by filter", deleted)
	return controlapi.DeleteResult{Deleted: deleted, NotFound: []string{}}, nil
}
