package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/storage"
)

// TestQueryPlans keeps list queries on their indexes: every filter with an equality field must
// find its page through an index, never by scanning the table.
func TestQueryPlans(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "plans.db"), testutil.Keyring(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(t.Context()) })
	now := time.Now()
	cases := []struct {
		f     storage.Filter
		index string
	}{
		{storage.Filter{State: storage.StateRejected}, "webhook_requests_state"},
		{storage.Filter{Entity: "customer"}, "webhook_requests_entity"},
		{storage.Filter{EntityID: "C-1"}, "webhook_requests_entity_id"},
		{storage.Filter{Entity: "customer", EntityID: "C-1"}, "webhook_requests_entity"},
		{storage.Filter{EventID: "ev-1"}, "webhook_requests_event_id"},
		{storage.Filter{WebhookDefinition: "d"}, "webhook_requests_definition"},
		{storage.Filter{WorkflowRule: "r"}, "webhook_requests_rule"},
		{storage.Filter{WebhookDefinition: "d", State: storage.StateRejected}, ""},
		{storage.Filter{State: storage.StateRejected, CreatedFrom: now}, ""},
		{storage.Filter{CreatedFrom: now, CreatedTo: now.Add(time.Hour)}, "webhook_requests_created_at"},
		{storage.Filter{CreatedTo: now}, "webhook_requests_created_at"},
	}
	for _, tc := range cases {
		for _, before := range []int64{0, 1000} {
			w, args := where(tc.f, before)
			args = append(args, 50)
			rows, err := s.r.QueryContext(t.Context(), `EXPLAIN QUERY PLAN SELECT `+requestColumns+` FROM webhook_requests WHERE seq IN (
				SELECT seq FROM webhook_requests`+indexHint(tc.f)+w+` ORDER BY seq DESC LIMIT ?) ORDER BY seq DESC`, args...)
			if err != nil {
				t.Fatalf("explain: %v", err)
			}
			var steps []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatalf("explain: %v", err)
				}
				steps = append(steps, detail)
			}
			if err := rows.Close(); err != nil {
				t.Fatalf("explain: %v", err)
			}
			plan := strings.Join(steps, " | ")
			if strings.Contains(plan, "SCAN webhook_requests") || !strings.Contains(plan, "INDEX "+tc.index) {
				t.Errorf("filter %+v, before %d: plan %q, want a search on index %s", tc.f, before, plan, tc.index)
			}
		}
	}
}
