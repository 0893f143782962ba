package sqlite_test

import (
	"fmt"
	"github.com/webhookd/webhookd/webhook"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/storage/storagetest"
)

var benchT0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// benchRequest is a request of realistic size (about 1.5 KB): 1 in 10 rejected, 1000 customers,
// 4 definitions, 3 rules, 3 deliveries per event, one a second.
func benchRequest(seq int64) *storage.WebhookRequest {
	n := storage.FormatNumber(seq)
	at := benchT0.Add(time.Duration(seq) * time.Second)
	state, code, desc := storage.StateSuccessful, "", ""
	status := 200
	if seq%10 == 0 {
		state, code, desc, status = storage.StateRejected, "HTTP_503", "receiver answered 503", 503
	}
	body := fmt.Sprintf(`{"type":"customer.updated","timestamp":"%s","data":{"event_id":"ev-%d","entity":"customer","entity_id":"C-%d","action":"updated","actor":"jdoe","workflow_rule":"rule-%d","webhook_definition":"def-%d","fields":{"name":"Customer %d","email":"c%d@example.com","status":"active","address":{"city":"Paphos","street":"%s"}}}}`,
		at.Format(time.RFC3339), seq/3, seq%1000, seq%3, seq%4, seq, seq, strings.Repeat("x", 200))
	return &storage.WebhookRequest{
		Number: n, Seq: seq, WebhookID: "msg_" + n, State: state,
		Entity: "customer", EntityID: fmt.Sprintf("C-%d", seq%1000), EventID: fmt.Sprintf("ev-%d", seq/3),
		URL: "https://erp.example.com/hooks/crm", SecretKey: "whsec_…LaSw",
		FieldsSet: &config.FieldsSet{Name: "customer-basic", Fields: []string{"name", "email", "status", "address.city"}},
		Request: storage.RequestInfo{
			Method: "POST", URL: "https://erp.example.com/hooks/crm",
			Headers: map[string]string{
				"Content-Type": "application/json", "User-Agent": "webhookd/1.0", "Webhook-Id": "msg_" + n,
				"Webhook-Timestamp": "1735689600", "Webhook-Signature": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
			},
			Body: body, SentAt: at,
		},
		Response: &storage.ResponseInfo{Status: status, Headers: map[string]string{"Content-Type": "application/json"},
			Body: `{"ok":true,"id":"` + n + `"}`, DurationMS: 42},
		WebhookDefinition: storage.Ref{ID: fmt.Sprintf("def-%d", seq%4), Name: "Definition"},
		WorkflowRule:      storage.Ref{ID: fmt.Sprintf("rule-%d", seq%3), Name: "Rule"},
		Attempts:          1, ErrorCode: code, ErrorDescription: desc,
		Log: storage.Log{CreatedAt: at, CreatedBy: storage.SystemUser, UpdatedAt: at, UpdatedBy: storage.SystemUser},
	}
}

// BenchmarkInsertRequests writes batches of 100 requests, one transaction each, as the worker does (it writes up to 200 at once; 100 is the target's measure).
func BenchmarkInsertRequests(b *testing.B) { benchInsert(b, 100, benchRequest) }

// benchInsert writes batches of requests made by req, one transaction each, as the recorder does.
func benchInsert(b *testing.B, batch int, req func(seq int64) *storage.WebhookRequest) {
	s := open(b, filepath.Join(b.TempDir(), "bench.db"), storagetest.Keyring(b))
	var seq int64
	rows := 0
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		reqs := make([]*storage.WebhookRequest, batch)
		for i := range reqs {
			seq++
			reqs[i] = req(seq)
		}
		b.StartTimer()
		n, err := s.InsertRequests(b.Context(), reqs)
		if err != nil || n != batch {
			b.Fatalf("InsertRequests = %d, %v", n, err)
		}
		rows += n
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

const benchRows = 100_000

// BenchmarkListRequests reads one page of 50 from 100,000 requests, for each kind of filter.
func BenchmarkListRequests(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "bench.db"), storagetest.Keyring(b))
	for start := int64(1); start <= benchRows; start += 1000 {
		reqs := make([]*storage.WebhookRequest, 1000)
		for i := range reqs {
			reqs[i] = benchRequest(start + int64(i))
		}
		if _, err := s.InsertRequests(b.Context(), reqs); err != nil {
			b.Fatalf("InsertRequests: %v", err)
		}
	}
	mid := benchT0.Add(benchRows / 2 * time.Second)
	cases := []struct {
		name string
		q    storage.ListQuery
	}{
		{"newest", storage.ListQuery{}},
		{"state", storage.ListQuery{Filter: storage.Filter{State: storage.StateRejected}}},
		{"entity_id", storage.ListQuery{Filter: storage.Filter{Entity: "customer", EntityID: "C-420"}}},
		{"event_id", storage.ListQuery{Filter: storage.Filter{EventID: "ev-12345"}}},
		{"definition_and_state", storage.ListQuery{Filter: storage.Filter{WebhookDefinition: "def-2", State: storage.StateRejected}}},
		{"rule", storage.ListQuery{Filter: storage.Filter{WorkflowRule: "rule-1"}}},
		{"created_range", storage.ListQuery{Filter: storage.Filter{CreatedFrom: mid, CreatedTo: mid.Add(time.Hour)}}},
		{"created_from_wide", storage.ListQuery{Filter: storage.Filter{CreatedFrom: benchT0}}},
		{"created_to_old", storage.ListQuery{Filter: storage.Filter{CreatedTo: benchT0.Add(time.Hour)}}},
		{"state_and_created_from", storage.ListQuery{Filter: storage.Filter{State: storage.StateRejected, CreatedFrom: mid}}},
		{"state_page_deep", storage.ListQuery{Filter: storage.Filter{State: storage.StateRejected}, BeforeSeq: benchRows / 10}},
		{"no_match", storage.ListQuery{Filter: storage.Filter{EntityID: "C-420", WorkflowRule: "rule-9"}}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			q := tc.q
			q.Limit = 50
			for b.Loop() {
				if _, err := s.ListRequests(b.Context(), q); err != nil {
					b.Fatalf("ListRequests: %v", err)
				}
			}
		})
	}
	b.Run("get", func(b *testing.B) {
		i := int64(0)
		for b.Loop() {
			i++
			if _, err := s.GetRequest(b.Context(), storage.FormatNumber(1+i*7919%benchRows)); err != nil {
				b.Fatalf("GetRequest: %v", err)
			}
		}
	})
	b.Run("count_state", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.CountRequests(b.Context(), storage.Filter{State: storage.StateRejected}); err != nil {
				b.Fatalf("CountRequests: %v", err)
			}
		}
	})
}

// BenchmarkMixed runs writers (batches of 100) beside readers (pages of 50), as a worker and
// operators do: writes queue on the one write connection, reads run beside them under WAL.
func BenchmarkMixed(b *testing.B) {
	s := open(b, filepath.Join(b.TempDir(), "bench.db"), storagetest.Keyring(b))
	var next atomic.Int64
	for start := int64(1); start <= 10_000; start += 1000 {
		reqs := make([]*storage.WebhookRequest, 1000)
		for i := range reqs {
			reqs[i] = benchRequest(start + int64(i))
		}
		if _, err := s.InsertRequests(b.Context(), reqs); err != nil {
			b.Fatalf("InsertRequests: %v", err)
		}
	}
	next.Store(10_000)
	var writes, reads atomic.Int64
	b.SetParallelism(2) // 4 goroutines on 2 cores: 2 writers, 2 readers
	var worker atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		writer := worker.Add(1)%2 == 0
		for pb.Next() {
			if writer {
				reqs := make([]*storage.WebhookRequest, 100)
				for i := range reqs {
					reqs[i] = benchRequest(next.Add(1))
				}
				if _, err := s.InsertRequests(b.Context(), reqs); err != nil {
					b.Errorf("InsertRequests: %v", err)
					return
				}
				writes.Add(100)
			} else {
				q := storage.ListQuery{Filter: storage.Filter{State: storage.StateRejected}, Limit: 50}
				if _, err := s.ListRequests(b.Context(), q); err != nil {
					b.Errorf("ListRequests: %v", err)
					return
				}
				reads.Add(1)
			}
		}
	})
	b.ReportMetric(float64(writes.Load())/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(reads.Load())/b.Elapsed().Seconds(), "pages/s")
}

// BenchmarkInsertRequestsRandomKeys writes what the worker writes under a burst: batches of 60
// requests whose webhook_ids are hashes and whose event and entity ids are random, so every
// batch touches pages all over those indexes, as a real table does (the sequential ids of
// BenchmarkInsertRequests keep them in a few hot pages).
func BenchmarkInsertRequestsRandomKeys(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	benchInsert(b, 60, func(seq int64) *storage.WebhookRequest {
		r := benchRequest(seq)
		r.EventID = fmt.Sprintf("%016x-%016x", rng.Uint64(), rng.Uint64())
		r.EntityID = fmt.Sprintf("C-%d", rng.IntN(1_000_000))
		r.WebhookID = webhook.NewWebhookID(r.EventID, "rule-1", "def-1")
		return r
	})
}
