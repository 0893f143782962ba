package storagetest

import (
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/storage"
)

func invalidEvent(i int) storage.InvalidEvent {
	return storage.InvalidEvent{
		Subject:    "crm.events.customer",
		Body:       `{"id": "ev-` + strings.Repeat("x", i) + `", "entity": 1}`,
		Reason:     `subject "crm.events.customer" must have exactly four tokens`,
		ReceivedAt: t0.Add(time.Duration(i) * time.Second),
		MsgID:      "CRM_EVENTS:" + strings.Repeat("1", i),
	}
}

func wantEvent(e storage.InvalidEvent) storage.InvalidEvent {
	e.ReceivedAt = norm(e.ReceivedAt)
	return e
}

func (s *suite) testInvalidEvents(t *testing.T) {
	st := s.open(t)
	e1, e2, e3 := invalidEvent(1), invalidEvent(2), invalidEvent(3)
	e2.Body = "not json \x00\xff at all"
	if err := st.InsertInvalidEvents(ctx(t), []storage.InvalidEvent{e2, e1}); err != nil {
		t.Fatalf("InsertInvalidEvents: %v", err)
	}
	// A redelivered message is stored once.
	redelivered := e1
	redelivered.ReceivedAt = t0.Add(time.Hour)
	if err := st.InsertInvalidEvents(ctx(t), []storage.InvalidEvent{redelivered, e3}); err != nil {
		t.Fatalf("InsertInvalidEvents(again): %v", err)
	}
	got, err := st.ListInvalidEvents(ctx(t), 10)
	if err != nil {
		t.Fatalf("ListInvalidEvents: %v", err)
	}
	w2 := wantEvent(e2)
	w2.Body = "not json \x00\uFFFD at all" // stored as a string: invalid UTF-8 becomes U+FFFD
	equal(t, "ListInvalidEvents", got, []storage.InvalidEvent{wantEvent(e3), w2, wantEvent(e1)})
	for _, e := range got {
		checkUTC(t, "received_at", e.ReceivedAt)
	}
	got, err = st.ListInvalidEvents(ctx(t), 2)
	if err != nil || len(got) != 2 || got[0].MsgID != e3.MsgID {
		t.Errorf("ListInvalidEvents(2) = %v, %v; want e3, e2", got, err)
	}
	got, err = st.ListInvalidEvents(ctx(t), 0)
	if err != nil || len(got) != 3 {
		t.Errorf("ListInvalidEvents(0) = %d events, %v; want 3", len(got), err)
	}
	if err := st.InsertInvalidEvents(ctx(t), nil); err != nil {
		t.Errorf("InsertInvalidEvents(nil): %v", err)
	}
	noID := invalidEvent(4)
	noID.MsgID = ""
	if err := st.InsertInvalidEvents(ctx(t), []storage.InvalidEvent{noID}); err == nil {
		t.Error("InsertInvalidEvents(no msg_id): no error")
	}
	// Bodies are capped, at a character boundary.
	big := invalidEvent(5)
	big.Body = strings.Repeat("b", storage.MaxInvalidBody-1) + "☃☃☃"
	if err := st.InsertInvalidEvents(ctx(t), []storage.InvalidEvent{big}); err != nil {
		t.Fatalf("InsertInvalidEvents(big): %v", err)
	}
	got, err = st.ListInvalidEvents(ctx(t), 1)
	if err != nil || len(got) != 1 || got[0].MsgID != big.MsgID || got[0].Body != big.Body[:storage.MaxInvalidBody-1] {
		t.Errorf("big body: ListInvalidEvents(1) = %d events, %v; want its body cut to %d bytes", len(got), err, storage.MaxInvalidBody-1)
	}
}

func (s *suite) testAudit(t *testing.T) {
	st := s.open(t)
	entries := []storage.AuditEntry{
		{At: t0, User: "alice", Command: "config.apply", Request: `{"webhook_definitions":[{"secret_key":"whsec_…LaSw"}]}`, OK: true, Result: "1 definitions, 0 rules"},
		{At: t0.Add(time.Second), User: "bob", Command: "requests.delete", Request: `{"numbers":["WR-0000000001"]}`, OK: false, Result: "FILTER_REQUIRED: a filter is required"},
		{At: t0.Add(2 * time.Second), User: "carol", Command: "requests.resend", Request: `{}`, OK: true, Result: "1 successful"},
	}
	for _, e := range entries {
		if err := st.InsertAudit(ctx(t), e); err != nil {
			t.Fatalf("InsertAudit: %v", err)
		}
	}
	got, err := st.ListAudit(ctx(t), 10)
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	var w []storage.AuditEntry
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		e.At = norm(e.At)
		w = append(w, e)
	}
	equal(t, "ListAudit", got, w)
	for _, e := range got {
		checkUTC(t, "audit at", e.At)
	}
	got, err = st.ListAudit(ctx(t), 1)
	if err != nil || len(got) != 1 || got[0].User != "carol" {
		t.Errorf("ListAudit(1) = %v, %v; want carol's entry", got, err)
	}
	got, err = st.ListAudit(ctx(t), 0)
	if err != nil || len(got) != 3 {
		t.Errorf("ListAudit(0) = %d entries, %v; want 3", len(got), err)
	}
}
