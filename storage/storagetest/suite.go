package storagetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/secrets"
	"github.com/webhookd/webhookd/storage"
)

// Option adapts Run to a backend's known limits.
type Option func(*options)

type options struct {
	skipConcurrent string
}

// SkipConcurrent skips the subtests that race several writers against one document (number
// reservation, resend claims and completions). Use it only for a test server that lacks the
// atomicity production has, and say which: FerretDB's findAndModify and updates read, then write.
func SkipConcurrent(reason string) Option {
	return func(o *options) { o.skipConcurrent = reason }
}

// Opener opens a store for one subtest, sealing secrets with keys, and closes it when that
// subtest ends (t.Cleanup). The first call in a subtest opens a new, empty database; every later
// call in the same subtest opens that same database again (the earlier stores stay open), so a
// subtest can read what it wrote under other keys.
type Opener func(t *testing.T, keys *secrets.Keyring) Store

// Run runs the conformance suite.
func Run(t *testing.T, open Opener, opts ...Option) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	s := &suite{openWith: open, opts: o, keys: keyring(t, keyOld)}
	tests := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"Ping", s.testPing},
		{"ReserveNumbers/Sequential", s.testReserveSequential},
		{"ReserveNumbers/Concurrent", s.testReserveConcurrent},
		{"InsertRequests/Idempotent", s.testInsertIdempotent},
		{"InsertRequests/DuplicateNumber", s.testInsertDuplicateNumber},
		{"InsertRequests/Invalid", s.testInsertInvalid},
		{"GetRequest/RoundTrip", s.testGetRoundTrip},
		{"GetRequest/NotFound", s.testGetNotFound},
		{"ListRequests/Filters", s.testListFilters},
		{"ListRequests/CreatedBounds", s.testListCreatedBounds},
		{"ListRequests/Paging", s.testListPaging},
		{"ListRequests/Limit", s.testListLimit},
		{"DeleteRequests", s.testDeleteRequests},
		{"Resend/Claim", s.testResendClaim},
		{"Resend/ExpiredClaim", s.testResendExpiredClaim},
		{"Resend/SuccessReplaces", s.testResendSuccessReplaces},
		{"Resend/SuccessDeletes", s.testResendSuccessDeletes},
		{"Resend/StaleToken", s.testResendStaleToken},
		{"Resend/Failure", s.testResendFailure},
		{"Resend/Unclaimed", s.testResendUnclaimed},
		{"Resend/ConcurrentClaims", s.testResendConcurrentClaims},
		{"Resend/ConcurrentCompletions", s.testResendConcurrentCompletions},
		{"InvalidEvents", s.testInvalidEvents},
		{"Config/ApplyListGetDelete", s.testConfigApply},
		{"Config/DefinitionInUse", s.testConfigDefinitionInUse},
		{"Config/Disable", s.testConfigDisable},
		{"Config/Version", s.testConfigVersion},
		{"Secrets/SecretRotation", s.testSecretRotation},
		{"Secrets/KeyRotation", s.testKeyRotation},
		{"Secrets/KeyRotationWithoutHeaders", s.testKeyRotationWithoutHeaders},
		{"Secrets/UnknownKey", s.testUnknownKey},
		{"Health", s.testHealth},
		{"Audit", s.testAudit},
		{"EmptyLists", s.testEmptyLists},
		{"CanceledContext", s.testCanceledContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.fn)
	}
}

type suite struct {
	openWith Opener
	opts     options
	keys     *secrets.Keyring // what open seals with
}

// open opens the subtest's store under the suite's keys.
func (s *suite) open(t *testing.T) Store { return s.openWith(t, s.keys) }

func (s *suite) needConcurrency(t *testing.T) {
	t.Helper()
	if s.opts.skipConcurrent != "" {
		t.Skip(s.opts.skipConcurrent)
	}
}

// ctx bounds every call of a subtest, so a store that hangs fails the test instead of the run.
func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// t0 has sub-millisecond digits and a zone other than UTC: stores keep milliseconds in UTC.
var t0 = time.Date(2025, 3, 14, 10, 26, 53, 589_793_238, time.FixedZone("CET", 3600))

// norm is how a store returns a time: UTC, millisecond precision.
func norm(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// request returns a rejected request with every field set, response included.
func request(seq int64) *storage.WebhookRequest {
	n := storage.FormatNumber(seq)
	at := t0.Add(time.Duration(seq) * time.Second)
	return &storage.WebhookRequest{
		Number:    n,
		Seq:       seq,
		WebhookID: "msg_" + n,
		State:     storage.StateRejected,
		Entity:    "customer",
		EntityID:  "C-1001",
		EventID:   "ev-" + n,
		URL:       "https://erp.example.com/hooks/crm?x=1",
		SecretKey: "whsec_…LaSw",
		FieldsSet: &config.FieldsSet{Name: "customer-basic", Fields: []string{"name", "address.city"}},
		Request: storage.RequestInfo{
			Method: "POST",
			URL:    "https://erp.example.com/hooks/crm?x=1",
			Headers: map[string]string{
				"Content-Type":      "application/json",
				"Webhook-Id":        "msg_" + n,
				"Webhook-Signature": "v1,c2lnbmF0dXJl",
				"X-Api-Version":     "2",
			},
			Body:   `{"type":"customer.updated","data":{"fields":{"name":"Ελένη \"Ellie\"","address":{"city":"Paphos"}}}}`,
			SentAt: at.Add(-1500 * time.Microsecond),
		},
		Response: &storage.ResponseInfo{
			Status:     503,
			Headers:    map[string]string{"Retry-After": "5", "Content-Type": "text/plain; charset=utf-8"},
			Body:       "service unavailable\n\x01 ☃",
			Truncated:  true,
			DurationMS: 1234,
		},
		WebhookDefinition: storage.Ref{ID: "erp-sync", Name: "ERP customer sync"},
		WorkflowRule:      storage.Ref{ID: "customer-activated", Name: "Customer activated"},
		Attempts:          6,
		ErrorCode:         "HTTP_503",
		ErrorDescription:  "receiver answered 503 Service Unavailable",
		Log: storage.Log{
			CreatedAt: at,
			CreatedBy: storage.SystemUser,
			UpdatedAt: at.Add(time.Millisecond),
			UpdatedBy: storage.SystemUser,
		},
	}
}

// successful returns a successful request: no error, resent from another.
func successful(seq int64) *storage.WebhookRequest {
	r := request(seq)
	r.State = storage.StateSuccessful
	r.ErrorCode, r.ErrorDescription = "", ""
	r.Attempts = 1
	r.Response = &storage.ResponseInfo{Status: 204, Headers: map[string]string{}, DurationMS: 12}
	r.ResentFrom = storage.FormatNumber(seq + 1_000_000)
	r.FieldsSet = nil
	return r
}

// want is r as a store returns it.
func want(r *storage.WebhookRequest) *storage.WebhookRequest {
	c := *r
	if c.Seq == 0 {
		seq, err := storage.ParseNumber(c.Number)
		if err == nil {
			c.Seq = seq
		}
	}
	c.Request.SentAt = norm(c.Request.SentAt)
	c.Log.CreatedAt = norm(c.Log.CreatedAt)
	c.Log.UpdatedAt = norm(c.Log.UpdatedAt)
	return &c
}

func show(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprintf("%+v", v)
	}
	return string(b)
}

func checkUTC(t *testing.T, what string, ts ...time.Time) {
	t.Helper()
	for _, tm := range ts {
		if tm.Location() != time.UTC {
			t.Errorf("%s: time %s is in %s, want UTC", what, tm, tm.Location())
		}
	}
}

func equalRequest(t *testing.T, what string, got, want *storage.WebhookRequest) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got nil request, want %s", what, want.Number)
	}
	checkUTC(t, what+" "+got.Number, got.Request.SentAt, got.Log.CreatedAt, got.Log.UpdatedAt)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: request differs\n got (seq %d): %s\nwant (seq %d): %s", what, got.Seq, show(got), want.Seq, show(want))
	}
}

func insert(t *testing.T, st Store, reqs ...*storage.WebhookRequest) {
	t.Helper()
	n, err := st.InsertRequests(ctx(t), reqs)
	if err != nil {
		t.Fatalf("InsertRequests(%d): %v", len(reqs), err)
	}
	if n != len(reqs) {
		t.Fatalf("InsertRequests(%d) = %d, want %d", len(reqs), n, len(reqs))
	}
}

func get(t *testing.T, st Store, number string) *storage.WebhookRequest {
	t.Helper()
	r, err := st.GetRequest(ctx(t), number)
	if err != nil {
		t.Fatalf("GetRequest(%s): %v", number, err)
	}
	return r
}

func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want %v", what, err, target)
	}
}

func numbers(reqs []*storage.WebhookRequest) []string {
	out := make([]string, len(reqs))
	for i, r := range reqs {
		out[i] = r.Number
	}
	return out
}

func (s *suite) testPing(t *testing.T) {
	st := s.open(t)
	if err := st.Ping(ctx(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// testEmptyLists: an empty list is empty, not nil, so callers encode it as [] from either store.
func (s *suite) testEmptyLists(t *testing.T) {
	st := s.open(t)
	c := ctx(t)
	reqs, err := st.ListRequests(c, storage.ListQuery{Limit: 10})
	check := func(what string, isNil bool, n int, err error) {
		t.Helper()
		if err != nil || isNil || n != 0 {
			t.Errorf("%s on an empty store: nil %v, %d items, %v; want an empty slice", what, isNil, n, err)
		}
	}
	check("ListRequests", reqs == nil, len(reqs), err)
	defs, err := st.ListDefinitions(c)
	check("ListDefinitions", defs == nil, len(defs), err)
	rules, err := st.ListRules(c)
	check("ListRules", rules == nil, len(rules), err)
	evs, err := st.ListInvalidEvents(c, 10)
	check("ListInvalidEvents", evs == nil, len(evs), err)
	audit, err := st.ListAudit(c, 10)
	check("ListAudit", audit == nil, len(audit), err)
	deleted, err := st.DeleteRequests(c, []string{storage.FormatNumber(1)})
	check("DeleteRequests", deleted == nil, len(deleted), err)
	if v, err := st.ConfigVersion(c); err != nil || v != 0 {
		t.Errorf("ConfigVersion on an empty store = %d, %v; want 0", v, err)
	}
}

func (s *suite) testCanceledContext(t *testing.T) {
	st := s.open(t)
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	if _, err := st.ListRequests(c, storage.ListQuery{Limit: 10}); err == nil {
		t.Error("ListRequests with a canceled context: no error")
	}
	if _, err := st.InsertRequests(c, []*storage.WebhookRequest{request(1)}); err == nil {
		t.Error("InsertRequests with a canceled context: no error")
	}
	if _, err := st.ReserveNumbers(c, 1); err == nil {
		t.Error("ReserveNumbers with a canceled context: no error")
	}
}
