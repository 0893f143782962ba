package controltest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/storage"
)

func numbersOf(items []*storage.WebhookRequest) []string {
	out := make([]string, len(items))
	for i, wr := range items {
		out[i] = wr.Number
	}
	return out
}

func testListAndGet(t *testing.T, st Store) {
	e := newEnv(t, st)
	old := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	a := e.seed(storage.StateSuccessful, "d1", func(wr *storage.WebhookRequest) { wr.Log.CreatedAt = old })
	b := e.seed(storage.StateRejected, "d1")
	c := e.seed(storage.StateSuccessful, "d2", func(wr *storage.WebhookRequest) {
		wr.Entity, wr.EntityID, wr.WorkflowRule = "order", "O-9", storage.Ref{ID: "r2", Name: "Rule r2"}
	})
	d := e.seed(storage.StateRejected, "d2", func(wr *storage.WebhookRequest) { wr.EntityID = "C-2" })

	var all controlapi.ListResult
	e.do(controlapi.CmdRequestsList, map[string]any{}, &all)
	if got, want := numbersOf(all.Items), []string{d.Number, c.Number, b.Number, a.Number}; !slices.Equal(got, want) || all.Next != "" {
		t.Fatalf("list = %v next %q, want %v newest first and no next", got, all.Next, want)
	}

	filters := []struct {
		filter string
		want   []string
	}{
		{`{"state":"rejected"}`, []string{d.Number, b.Number}},
		{`{"state":"successful"}`, []string{c.Number, a.Number}},
		{`{"entity":"order"}`, []string{c.Number}},
		{`{"entity_id":"C-2"}`, []string{d.Number}},
		{`{"event_id":"` + b.EventID + `"}`, []string{b.Number}},
		{`{"webhook_definition":"d2"}`, []string{d.Number, c.Number}},
		{`{"workflow_rule":"r2"}`, []string{c.Number}},
		{`{"created_to":"2025-01-01T00:00:00Z"}`, []string{a.Number}},
		{`{"created_from":"2025-01-01T00:00:00Z"}`, []string{d.Number, c.Number, b.Number}},
		{`{"created_from":"2024-06-01T12:00:00Z","created_to":"2024-06-01T12:00:01Z"}`, []string{a.Number}},
		{`{"state":"rejected","webhook_definition":"d1"}`, []string{b.Number}},
		{`{"entity":"nothing"}`, nil},
	}
	for _, f := range filters {
		var res controlapi.ListResult
		e.do(controlapi.CmdRequestsList, json.RawMessage(`{"filter":`+f.filter+`}`), &res)
		if got := numbersOf(res.Items); !slices.Equal(got, f.want) && !(len(got) == 0 && len(f.want) == 0) {
			t.Errorf("filter %s: %v, want %v", f.filter, got, f.want)
		}
	}

	// Section 5 field names, RFC 3339 times, no internal fields, the secret masked.
	raw := e.raw(controlapi.CmdRequestsGet, `{"number":"`+b.Number+`"}`)
	var rep struct {
		OK     bool `json:"ok"`
		Result struct {
			Item map[string]any `json:"item"`
		} `json:"result"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil || !rep.OK {
		t.Fatalf("get: %s", raw)
	}
	item := rep.Result.Item
	for _, k := range []string{"number", "state", "entity", "entity_id", "event_id", "url", "secret_key", "fields_set",
		"request", "response", "webhook_definition", "workflow_rule", "attempts", "error_code", "error_description", "log"} {
		if _, ok := item[k]; !ok {
			t.Errorf("get: field %q missing in %s", k, raw)
		}
	}
	for _, k := range []string{"seq", "Seq", "claim_token", "resend_claim"} {
		if _, ok := item[k]; ok {
			t.Errorf("get: internal field %q in reply", k)
		}
	}
	if item["number"] != b.Number || item["secret_key"] != "whsec_…LaSw" || strings.Contains(string(raw), testSecret) {
		t.Errorf("get: number %v secret_key %v", item["number"], item["secret_key"])
	}
	log := item["log"].(map[string]any)
	for _, k := range []string{"created_at", "updated_at"} {
		if _, err := time.Parse(time.RFC3339, log[k].(string)); err != nil {
			t.Errorf("log.%s = %v, not RFC 3339", k, log[k])
		}
	}
	if _, err := time.Parse(time.RFC3339, item["request"].(map[string]any)["sent_at"].(string)); err != nil {
		t.Errorf("request.sent_at not RFC 3339: %v", err)
	}
	if code := e.fail(controlapi.CmdRequestsGet, map[string]string{"number": "WR-0009999999"}).Code; code != controlapi.CodeNotFound {
		t.Errorf("get unknown: %s", code)
	}
}

func testPagingStableWhileInserting(t *testing.T, st Store) {
	e := newEnv(t, st)
	var want []string
	for range 12 {
		want = append([]string{e.seed(storage.StateRejected, "d1").Number}, want...)
	}
	var got []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		var res controlapi.ListResult
		e.do(controlapi.CmdRequestsList, map[string]any{"limit": 5, "after": after, "filter": map[string]string{"state": "rejected"}}, &res)
		got = append(got, numbersOf(res.Items)...)
		// New requests arrive between pages: they are newer, so they are not in this listing.
		for range 3 {
			e.seed(storage.StateRejected, "d1")
		}
		if res.Next == "" {
			break
		}
		after = res.Next
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages = %v, want %v (no repeats, no gaps)", got, want)
	}
	// limit 1000 on the last page: a full page of the maximum size still ends.
	var res controlapi.ListResult
	e.do(controlapi.CmdRequestsList, map[string]any{"limit": 1000}, &res)
	if len(res.Items) != 12+3*3 {
		t.Fatalf("limit 1000: %d items", len(res.Items))
	}
}

func testDelete(t *testing.T, st Store) {
	e := newEnv(t, st)
	a := e.seed(storage.StateSuccessful, "d1")
	b := e.seed(storage.StateRejected, "d1")
	keep := e.seed(storage.StateRejected, "d2")

	var res controlapi.DeleteResult
	e.do(controlapi.CmdRequestsDelete, map[string]any{"numbers": []string{a.Number, "WR-0009999999", b.Number, a.Number}, "user": "ann"}, &res)
	if res.Deleted != 2 || !slices.Equal(res.NotFound, []string{"WR-0009999999"}) {
		t.Fatalf("delete by numbers = %+v", res)
	}
	if e.get(a.Number) != nil || e.get(b.Number) != nil || e.get(keep.Number) == nil {
		t.Fatal("delete by numbers removed the wrong requests")
	}

	// By filter, any state, with progress messages.
	for range 7 {
		e.seed(storage.StateSuccessful, "d3")
		e.seed(storage.StateRejected, "d3")
	}
	var progress []controlapi.Progress
	err := e.client.Do(ctxT(t), controlapi.CmdRequestsDelete,
		map[string]any{"filter": map[string]string{"webhook_definition": "d3"}, "user": "ann", "progress": true}, &res,
		func(p controlapi.Progress) { progress = append(progress, p) })
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted != 14 || res.NotFound == nil || len(res.NotFound) != 0 {
		t.Fatalf("delete by filter = %+v", res)
	}
	if len(progress) == 0 || progress[0] != (controlapi.Progress{Done: 0, Total: 14}) {
		t.Fatalf("progress = %v, want a first message {0 14}", progress)
	}
	if left := e.all(storage.Filter{}); len(left) != 1 || left[0].Number != keep.Number {
		t.Fatalf("left = %v", numbersOf(left))
	}

	audit, err := e.store.ListAudit(ctxT(t), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 2 || audit[0].Command != controlapi.CmdRequestsDelete || audit[0].User != "ann" || !audit[0].OK ||
		!strings.Contains(audit[0].Result, "14") || !strings.Contains(audit[1].Request, a.Number) {
		t.Fatalf("audit = %+v", audit)
	}
}

// testListPageFitsOneMessage: requests with large bodies make a page shorter than its limit
// rather than a reply NATS cannot carry; "next" goes on from where it was cut.
func testListPageFitsOneMessage(t *testing.T, st Store) {
	if st.Small {
		t.Skip(smallReason)
	}
	e := newEnv(t, st)
	body := strings.Repeat("x", storage.MaxResponseBody-100)
	const n = 160 // 160 × 64 KiB is above the test server's 8 MiB
	for range n {
		e.seed(storage.StateRejected, "d1", func(wr *storage.WebhookRequest) { wr.Response.Body = body })
	}
	var got []string
	after := ""
	pages := 0
	for {
		var res controlapi.ListResult
		e.do(controlapi.CmdRequestsList, map[string]any{"limit": n, "after": after}, &res)
		pages++
		got = append(got, numbersOf(res.Items)...)
		if res.Next == "" {
			break
		}
		after = res.Next
	}
	if len(got) != n || pages < 2 {
		t.Fatalf("%d requests in %d pages, want %d in more than one", len(got), pages, n)
	}
	seen := map[string]bool{}
	for _, g := range got {
		if seen[g] {
			t.Fatalf("%s listed twice", g)
		}
		seen[g] = true
	}
}

// A full page of the largest limit says exactly whether another page exists: no "next" that
// leads to an empty page.
func testListLargestPageKnowsWhetherMoreExist(t *testing.T, st Store) {
	if st.Small {
		t.Skip(smallReason)
	}
	e := newEnv(t, st)
	for range controlapi.MaxLimit {
		e.seed(storage.StateSuccessful, "d1")
	}
	var res controlapi.ListResult
	e.do(controlapi.CmdRequestsList, map[string]any{"limit": controlapi.MaxLimit}, &res)
	if len(res.Items) != controlapi.MaxLimit || res.Next != "" {
		t.Fatalf("exactly %d requests: page of %d with next %q, want all and no next", controlapi.MaxLimit, len(res.Items), res.Next)
	}
	e.seed(storage.StateSuccessful, "d1")
	e.do(controlapi.CmdRequestsList, map[string]any{"limit": controlapi.MaxLimit}, &res)
	if len(res.Items) != controlapi.MaxLimit || res.Next == "" {
		t.Fatalf("%d requests: page of %d with next %q, want a next page", controlapi.MaxLimit+1, len(res.Items), res.Next)
	}
}
