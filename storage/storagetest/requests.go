package storagetest

import (
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/webhookd/webhookd/storage"
)

type block struct{ first, n int64 }

func checkBlocks(t *testing.T, blocks []block) {
	t.Helper()
	sort.Slice(blocks, func(i, j int) bool { return blocks[i].first < blocks[j].first })
	for i, b := range blocks {
		if b.first < 1 {
			t.Errorf("block %d starts at %d, want >= 1", i, b.first)
		}
		if i > 0 {
			prev := blocks[i-1]
			if prev.first+prev.n > b.first {
				t.Errorf("blocks overlap: [%d, %d) and [%d, %d)", prev.first, prev.first+prev.n, b.first, b.first+b.n)
			}
		}
	}
}

func (s *suite) testReserveSequential(t *testing.T) {
	st := s.open(t)
	var blocks []block
	var last int64
	for i, n := range []int{1, 100, 1, 7, 1000, 3} {
		first, err := st.ReserveNumbers(ctx(t), n)
		if err != nil {
			t.Fatalf("ReserveNumbers(%d): %v", n, err)
		}
		if first <= last {
			t.Errorf("call %d: ReserveNumbers(%d) = %d, want > %d (numbers increase)", i, n, first, last)
		}
		last = first + int64(n) - 1
		blocks = append(blocks, block{first, int64(n)})
	}
	checkBlocks(t, blocks)
	for _, n := range []int{0, -1} {
		if _, err := st.ReserveNumbers(ctx(t), n); err == nil {
			t.Errorf("ReserveNumbers(%d): no error", n)
		}
	}
}

func (s *suite) testReserveConcurrent(t *testing.T) {
	s.needConcurrency(t)
	st := s.open(t)
	const workers, calls = 8, 25
	var mu sync.Mutex
	var blocks []block
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range calls {
				n := 1 + (w+i)%5
				first, err := st.ReserveNumbers(ctx(t), n)
				if err != nil {
					errs <- fmt.Errorf("worker %d: ReserveNumbers(%d): %w", w, n, err)
					return
				}
				mu.Lock()
				blocks = append(blocks, block{first, int64(n)})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(blocks) != workers*calls {
		t.Fatalf("got %d blocks, want %d", len(blocks), workers*calls)
	}
	checkBlocks(t, blocks)
}

func (s *suite) testInsertIdempotent(t *testing.T) {
	st := s.open(t)
	a, b, c := request(1), successful(2), request(3)
	insert(t, st, a, b, c)

	// A redelivery writes nothing, whatever number it reserved this time.
	again := request(40)
	again.WebhookID = a.WebhookID
	n, err := st.InsertRequests(ctx(t), []*storage.WebhookRequest{a, b, again})
	if err != nil || n != 0 {
		t.Fatalf("InsertRequests(stored again) = %d, %v; want 0, nil", n, err)
	}
	d := request(4)
	n, err = st.InsertRequests(ctx(t), []*storage.WebhookRequest{c, d, b})
	if err != nil || n != 1 {
		t.Fatalf("InsertRequests(2 stored, 1 new) = %d, %v; want 1, nil", n, err)
	}
	// Two documents of one delivery in one batch: one is written.
	e, f := request(5), request(6)
	f.WebhookID = e.WebhookID
	n, err = st.InsertRequests(ctx(t), []*storage.WebhookRequest{e, f})
	if err != nil || n != 1 {
		t.Fatalf("InsertRequests(same webhook_id twice) = %d, %v; want 1, nil", n, err)
	}
	_, err5 := st.GetRequest(ctx(t), e.Number)
	_, err6 := st.GetRequest(ctx(t), f.Number)
	if (err5 == nil) == (err6 == nil) {
		t.Errorf("same webhook_id twice: GetRequest errors %v and %v, want exactly one found", err5, err6)
	}
	if _, err := st.GetRequest(ctx(t), again.Number); err == nil {
		t.Errorf("redelivery %s was written", again.Number)
	}
	total, err := st.CountRequests(ctx(t), storage.Filter{})
	if err != nil || total != 5 {
		t.Errorf("CountRequests() = %d, %v; want 5", total, err)
	}
	equalRequest(t, "after redelivery", get(t, st, a.Number), want(a))

	if n, err := st.InsertRequests(ctx(t), nil); n != 0 || err != nil {
		t.Errorf("InsertRequests(nil) = %d, %v; want 0, nil", n, err)
	}
}

func (s *suite) testInsertDuplicateNumber(t *testing.T) {
	st := s.open(t)
	a := request(5)
	insert(t, st, a)
	other := request(5)
	other.WebhookID = "msg_other"
	d := request(7)
	n, err := st.InsertRequests(ctx(t), []*storage.WebhookRequest{other, d})
	wantErr(t, "number taken by another delivery", err, storage.ErrConflict)
	if n != 1 {
		t.Errorf("InsertRequests(taken number, new) = %d, want 1 (an unordered batch writes the rest)", n)
	}
	equalRequest(t, "the number's first owner", get(t, st, a.Number), want(a))
	equalRequest(t, "the rest of the batch", get(t, st, d.Number), want(d))
}

func (s *suite) testInsertInvalid(t *testing.T) {
	st := s.open(t)
	for name, mod := range map[string]func(r *storage.WebhookRequest){
		"no number":           func(r *storage.WebhookRequest) { r.Number = "" },
		"bad number":          func(r *storage.WebhookRequest) { r.Number = "WR-12" },
		"non-canonical":       func(r *storage.WebhookRequest) { r.Number = "WR-00000000001" },
		"seq disagrees":       func(r *storage.WebhookRequest) { r.Seq = 2 },
		"no webhook_id":       func(r *storage.WebhookRequest) { r.WebhookID = "" },
		"negative seq number": func(r *storage.WebhookRequest) { r.Number = "WR--000000001" },
	} {
		r := request(1)
		mod(r)
		if _, err := st.InsertRequests(ctx(t), []*storage.WebhookRequest{r}); err == nil {
			t.Errorf("%s: InsertRequests: no error", name)
		}
	}
	if _, err := st.InsertRequests(ctx(t), []*storage.WebhookRequest{nil}); err == nil {
		t.Error("nil request: InsertRequests: no error")
	}
	if n, err := st.CountRequests(ctx(t), storage.Filter{}); err != nil || n != 0 {
		t.Errorf("after invalid inserts: CountRequests() = %d, %v; want 0", n, err)
	}
}

func (s *suite) testGetRoundTrip(t *testing.T) {
	st := s.open(t)
	withResponse := request(1)
	noResponse := request(2)
	noResponse.Response = nil
	noResponse.ErrorCode, noResponse.ErrorDescription = "CONNECTION_FAILED", "dial tcp: connection refused"
	ok := successful(3)
	ok.Seq = 0 // derived from the number
	zero := request(4)
	zero.FieldsSet = nil
	zero.Request.Headers = nil
	zero.Log = storage.Log{}
	zero.Request.SentAt = time.Time{}
	insert(t, st, withResponse, noResponse, ok, zero)
	for _, r := range []*storage.WebhookRequest{withResponse, noResponse, ok, zero} {
		equalRequest(t, "GetRequest", get(t, st, r.Number), want(r))
	}
	// Receivers answer with arbitrary bytes; documents hold strings: each byte that is not
	// valid UTF-8 comes back as U+FFFD (as encoding/json writes it).
	binary := request(5)
	binary.Response.Body = "ok \xff\xfe end \xe2\x98"
	binary.Response.Headers = map[string]string{"X-Odd": "a\xffb"}
	binary.ErrorDescription = "bad \xc3"
	insert(t, st, binary)
	wb := want(binary)
	wb.Response = &storage.ResponseInfo{Status: 503, Headers: map[string]string{"X-Odd": "a\uFFFDb"},
		Body: "ok \uFFFD\uFFFD end \uFFFD\uFFFD", Truncated: true, DurationMS: 1234}
	wb.ErrorDescription = "bad \uFFFD"
	equalRequest(t, "invalid UTF-8", get(t, st, binary.Number), wb)

	got := get(t, st, ok.Number)
	if got.Seq != 3 {
		t.Errorf("Seq of %s = %d, want 3", ok.Number, got.Seq)
	}
	if got := get(t, st, zero.Number); !got.Log.CreatedAt.IsZero() || !got.Request.SentAt.IsZero() {
		t.Errorf("zero times came back as %s and %s", got.Log.CreatedAt, got.Request.SentAt)
	}
	if got := get(t, st, withResponse.Number); !got.Log.CreatedAt.Equal(withResponse.Log.CreatedAt.Truncate(time.Millisecond)) {
		t.Errorf("created_at = %s, want %s at millisecond precision", got.Log.CreatedAt, withResponse.Log.CreatedAt)
	}
}

func (s *suite) testGetNotFound(t *testing.T) {
	st := s.open(t)
	insert(t, st, request(1))
	for _, n := range []string{storage.FormatNumber(2), "", "nonsense"} {
		_, err := st.GetRequest(ctx(t), n)
		wantErr(t, fmt.Sprintf("GetRequest(%q)", n), err, storage.ErrNotFound)
	}
}

// dataset is 30 requests whose fields vary independently, written out of order.
func dataset(t *testing.T, st Store) []*storage.WebhookRequest {
	t.Helper()
	var all []*storage.WebhookRequest
	for i := int64(1); i <= 30; i++ {
		r := request(100 + i)
		if i%3 != 0 {
			r.State = storage.StateSuccessful
		}
		if i%2 == 0 {
			r.Entity, r.EntityID = "customer", fmt.Sprintf("C-%d", i%4)
		} else {
			r.Entity, r.EntityID = "order", fmt.Sprintf("O-%d", i%3)
		}
		r.EventID = fmt.Sprintf("ev-%d", i/3)
		r.WebhookDefinition.ID = []string{"erp-sync", "crm-mirror"}[(i/2)%2]
		r.WorkflowRule.ID = []string{"rule-a", "rule-b", "rule-c"}[(i/5)%3]
		r.Log.CreatedAt = t0.Add(time.Duration(i) * time.Minute)
		all = append(all, r)
	}
	// Written out of order and in two batches: order comes from numbers, not from writes.
	batch1, batch2 := []*storage.WebhookRequest{}, []*storage.WebhookRequest{}
	for i, r := range all {
		if i%2 == 0 {
			batch1 = append(batch1, r)
		} else {
			batch2 = append([]*storage.WebhookRequest{r}, batch2...)
		}
	}
	insert(t, st, batch2...)
	insert(t, st, batch1...)
	return all
}

func matches(f storage.Filter, r *storage.WebhookRequest) bool {
	created := norm(r.Log.CreatedAt)
	return (f.State == "" || f.State == r.State) &&
		(f.Entity == "" || f.Entity == r.Entity) &&
		(f.EntityID == "" || f.EntityID == r.EntityID) &&
		(f.EventID == "" || f.EventID == r.EventID) &&
		(f.WebhookDefinition == "" || f.WebhookDefinition == r.WebhookDefinition.ID) &&
		(f.WorkflowRule == "" || f.WorkflowRule == r.WorkflowRule.ID) &&
		(f.CreatedFrom.IsZero() || !created.Before(norm(f.CreatedFrom))) &&
		(f.CreatedTo.IsZero() || created.Before(norm(f.CreatedTo)))
}

// expect lists the numbers f selects, newest first.
func expect(all []*storage.WebhookRequest, f storage.Filter) []string {
	var sel []*storage.WebhookRequest
	for _, r := range all {
		if matches(f, r) {
			sel = append(sel, r)
		}
	}
	sort.Slice(sel, func(i, j int) bool { return sel[i].Seq > sel[j].Seq })
	return numbers(sel)
}

func (s *suite) testListFilters(t *testing.T) {
	st := s.open(t)
	all := dataset(t, st)
	minute := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	filters := []struct {
		name string
		f    storage.Filter
	}{
		{"none", storage.Filter{}},
		{"state", storage.Filter{State: storage.StateRejected}},
		{"entity", storage.Filter{Entity: "customer"}},
		{"entity_id", storage.Filter{EntityID: "O-1"}},
		{"event_id", storage.Filter{EventID: "ev-4"}},
		{"webhook_definition", storage.Filter{WebhookDefinition: "crm-mirror"}},
		{"workflow_rule", storage.Filter{WorkflowRule: "rule-b"}},
		{"created_from", storage.Filter{CreatedFrom: minute(25)}},
		{"created_to", storage.Filter{CreatedTo: minute(4)}},
		{"created range", storage.Filter{CreatedFrom: minute(10), CreatedTo: minute(20)}},
		{"state and entity", storage.Filter{State: storage.StateSuccessful, Entity: "order"}},
		{"entity and entity_id", storage.Filter{Entity: "customer", EntityID: "C-2"}},
		{"definition, rule and state", storage.Filter{WebhookDefinition: "erp-sync", WorkflowRule: "rule-a", State: storage.StateSuccessful}},
		{"event and definition", storage.Filter{EventID: "ev-5", WebhookDefinition: "erp-sync"}},
		{"every field", storage.Filter{State: storage.StateSuccessful, Entity: "customer", EntityID: "C-2",
			EventID: "ev-3", WebhookDefinition: "crm-mirror", WorkflowRule: "rule-c", CreatedFrom: minute(1), CreatedTo: minute(30)}},
		{"no match", storage.Filter{Entity: "invoice"}},
		{"contradiction", storage.Filter{Entity: "customer", EntityID: "O-1"}},
	}
	for _, tc := range filters {
		t.Run(tc.name, func(t *testing.T) {
			wantNums := expect(all, tc.f)
			if tc.name != "no match" && tc.name != "contradiction" && len(wantNums) == 0 {
				t.Fatalf("the dataset has no request for filter %+v: fix the test", tc.f)
			}
			got, err := st.ListRequests(ctx(t), storage.ListQuery{Filter: tc.f, Limit: 1000})
			if err != nil {
				t.Fatalf("ListRequests(%+v): %v", tc.f, err)
			}
			if g := numbers(got); !slices.Equal(g, wantNums) {
				t.Errorf("ListRequests(%+v)\n got %v\nwant %v", tc.f, g, wantNums)
			}
			n, err := st.CountRequests(ctx(t), tc.f)
			if err != nil || n != int64(len(wantNums)) {
				t.Errorf("CountRequests(%+v) = %d, %v; want %d", tc.f, n, err, len(wantNums))
			}
		})
	}
	// Listed documents are whole.
	got, err := st.ListRequests(ctx(t), storage.ListQuery{Filter: storage.Filter{EventID: "ev-4"}, Limit: 1})
	if err != nil || len(got) != 1 {
		t.Fatalf("ListRequests(ev-4, limit 1) = %d items, %v", len(got), err)
	}
	for _, r := range all {
		if r.Number == got[0].Number {
			equalRequest(t, "listed", got[0], want(r))
		}
	}
}

func (s *suite) testListCreatedBounds(t *testing.T) {
	st := s.open(t)
	base := t0.Truncate(time.Millisecond)
	offsets := []time.Duration{0, time.Millisecond, 2 * time.Millisecond, time.Second, time.Hour}
	var all []*storage.WebhookRequest
	for i, off := range offsets {
		r := request(int64(i + 1))
		r.Log.CreatedAt = base.Add(off)
		all = append(all, r)
	}
	insert(t, st, all...)
	cases := []struct {
		name     string
		from, to time.Time
		want     []int // indexes into offsets, newest first
	}{
		{"from is inclusive", base.Add(time.Millisecond), time.Time{}, []int{4, 3, 2, 1}},
		{"to is exclusive", time.Time{}, base.Add(2 * time.Millisecond), []int{1, 0}},
		{"both", base.Add(time.Millisecond), base.Add(time.Second), []int{2, 1}},
		{"empty range", base.Add(time.Second), base.Add(time.Second), nil},
		{"other zone, same instant", base.Add(time.Second).In(time.FixedZone("X", -7*3600)), time.Time{}, []int{4, 3}},
	}
	for _, tc := range cases {
		f := storage.Filter{CreatedFrom: tc.from, CreatedTo: tc.to}
		got, err := st.ListRequests(ctx(t), storage.ListQuery{Filter: f, Limit: 100})
		if err != nil {
			t.Fatalf("%s: ListRequests: %v", tc.name, err)
		}
		var wantNums []string
		for _, i := range tc.want {
			wantNums = append(wantNums, all[i].Number)
		}
		if g := numbers(got); !slices.Equal(g, wantNums) {
			t.Errorf("%s: ListRequests(from %s, to %s) = %v, want %v", tc.name, tc.from, tc.to, g, wantNums)
		}
	}
}

func (s *suite) testListPaging(t *testing.T) {
	st := s.open(t)
	var all []*storage.WebhookRequest
	for i := int64(1); i <= 20; i++ {
		r := request(i)
		if i%4 == 0 {
			r.State = storage.StateSuccessful
		}
		all = append(all, r)
	}
	insert(t, st, all...)
	next := int64(1000)
	for _, f := range []storage.Filter{{}, {State: storage.StateRejected}} {
		wantNums := expect(all, f) // includes what the previous filter's pages added
		var got []string
		var before int64
		for page := 0; ; page++ {
			if page > 20 {
				t.Fatal("paging does not end")
			}
			items, err := st.ListRequests(ctx(t), storage.ListQuery{Filter: f, Limit: 7, BeforeSeq: before})
			if err != nil {
				t.Fatalf("page %d: ListRequests: %v", page, err)
			}
			if len(items) > 7 {
				t.Fatalf("page %d: %d items, limit 7", page, len(items))
			}
			if len(items) == 0 {
				break
			}
			got = append(got, numbers(items)...)
			before = items[len(items)-1].Seq
			// New requests arrive between pages; they are newer, so they never show up in later pages.
			next++
			r := request(next)
			insert(t, st, r)
			all = append(all, r)
		}
		if !slices.Equal(got, wantNums) {
			t.Errorf("filter %+v: pages gave\n %v\nwant\n %v", f, got, wantNums)
		}
	}
}

func (s *suite) testListLimit(t *testing.T) {
	st := s.open(t)
	var all []*storage.WebhookRequest
	for i := int64(1); i <= 55; i++ {
		all = append(all, request(i))
	}
	insert(t, st, all...)
	for _, tc := range []struct{ limit, want int }{{0, 50}, {-3, 50}, {1, 1}, {3, 3}, {55, 55}, {100, 55}, {5000, 55}} {
		got, err := st.ListRequests(ctx(t), storage.ListQuery{Limit: tc.limit})
		if err != nil {
			t.Fatalf("ListRequests(limit %d): %v", tc.limit, err)
		}
		if len(got) != tc.want {
			t.Errorf("ListRequests(limit %d) = %d items, want %d", tc.limit, len(got), tc.want)
		}
		if len(got) > 0 && got[0].Number != storage.FormatNumber(55) {
			t.Errorf("ListRequests(limit %d) starts at %s, want the newest", tc.limit, got[0].Number)
		}
	}
}

func (s *suite) testDeleteRequests(t *testing.T) {
	st := s.open(t)
	a, b, c := request(1), successful(2), request(3)
	insert(t, st, a, b, c)
	unknown := storage.FormatNumber(99)
	deleted, err := st.DeleteRequests(ctx(t), []string{a.Number, unknown, b.Number, a.Number, "junk"})
	if err != nil {
		t.Fatalf("DeleteRequests: %v", err)
	}
	slices.Sort(deleted)
	if w := []string{a.Number, b.Number}; !slices.Equal(deleted, w) {
		t.Errorf("DeleteRequests = %v, want %v", deleted, w)
	}
	for _, n := range []string{a.Number, b.Number} {
		_, err := st.GetRequest(ctx(t), n)
		wantErr(t, "GetRequest(deleted)", err, storage.ErrNotFound)
	}
	equalRequest(t, "not deleted", get(t, st, c.Number), want(c))
	deleted, err = st.DeleteRequests(ctx(t), []string{a.Number})
	if err != nil || len(deleted) != 0 {
		t.Errorf("DeleteRequests(already deleted) = %v, %v; want none", deleted, err)
	}
	deleted, err = st.DeleteRequests(ctx(t), nil)
	if err != nil || len(deleted) != 0 {
		t.Errorf("DeleteRequests(nil) = %v, %v; want none", deleted, err)
	}
	// A deleted delivery's webhook_id is free again.
	insert(t, st, a)
}
