package event_test

import (
	"encoding/json"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/webhookd/webhookd/event"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const valid = `{"id":"e-1","entity":"customer","entity_id":"C-1","action":"updated","occurred_at":"2026-11-27T10:00:00+02:00","actor":"jdoe","changed":["status"],"data":{"status":"active","n":12345678901234567890}}`

func TestParseValid(t *testing.T) {
	ev, err := event.Parse("crm.events.customer.updated", []byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != "e-1" || ev.Entity != "customer" || ev.EntityID != "C-1" || ev.Action != "updated" ||
		ev.OccurredAt != "2026-11-27T10:00:00+02:00" || ev.Actor != "jdoe" || len(ev.Changed) != 1 {
		t.Errorf("parsed = %+v", ev)
	}
	if !strings.Contains(string(ev.Data), "12345678901234567890") {
		t.Errorf("data lost precision: %s", ev.Data)
	}
	if ev.Subject() != "crm.events.customer.updated" || ev.Type() != "customer.updated" {
		t.Errorf("subject/type = %s %s", ev.Subject(), ev.Type())
	}
}

// with is the valid event with field set to value, or left out for nil.
func with(field string, value any) string {
	var m map[string]any
	_ = json.Unmarshal([]byte(valid), &m)
	if value == nil {
		delete(m, field)
	} else {
		m[field] = value
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// invalidCases are bodies (or subjects) Parse refuses, with a part of the reason it gives.
func invalidCases() []struct{ name, subject, body, reason string } {
	return []struct{ name, subject, body, reason string }{
		{"three tokens", "crm.events.customer", valid, "four tokens"},
		{"five tokens", "crm.events.customer.updated.x", valid, "four tokens"},
		{"other prefix", "crm.other.customer.updated", valid, "four tokens"},
		{"not json", "crm.events.customer.updated", "nope", "JSON object"},
		{"array", "crm.events.customer.updated", "[1]", "JSON object"},
		{"null", "crm.events.customer.updated", "null", "JSON object"},
		{"empty", "crm.events.customer.updated", "", "JSON object"},
		{"trailing data", "crm.events.customer.updated", valid + "{}", "after the JSON object"},
		{"stray closing brace", "crm.events.customer.updated", valid + "}", "after the JSON object"},
		{"stray closing bracket and more", "crm.events.customer.updated", valid + " ]garbage", "after the JSON object"},
		{"no id", "crm.events.customer.updated", with("id", nil), `"id" is required`},
		{"empty id", "crm.events.customer.updated", with("id", ""), `"id" is required`},
		{"long id", "crm.events.customer.updated", with("id", strings.Repeat("x", 129)), "at most 128"},
		{"id not string", "crm.events.customer.updated", with("id", 5), `"id" must be a string`},
		{"bad entity", "crm.events.Customer.updated", with("entity", "Customer"), "[a-z0-9_]+"},
		{"entity mismatch", "crm.events.order.updated", valid, "does not match"},
		{"action mismatch", "crm.events.customer.created", valid, "does not match"},
		{"no entity_id", "crm.events.customer.updated", with("entity_id", nil), `"entity_id" is required`},
		{"no action", "crm.events.customer.updated", with("action", nil), `"action" is required`},
		{"bad time", "crm.events.customer.updated", with("occurred_at", "yesterday"), "RFC 3339"},
		{"no data", "crm.events.customer.updated", with("data", nil), `"data" is required`},
		{"data not object", "crm.events.customer.updated", with("data", []int{1}), `"data" is required`},
		{"changed not strings", "crm.events.customer.updated", with("changed", []int{1}), "array of strings"},
		{"actor not string", "crm.events.customer.updated", with("actor", 1), `"actor" must be a string`},
	}
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range invalidCases() {
		t.Run(tc.name, func(t *testing.T) {
			_, err := event.Parse(tc.subject, []byte(tc.body))
			if err == nil {
				t.Fatal("accepted")
			}
			if !event.IsInvalid(err) {
				t.Errorf("error %v is not an InvalidError", err)
			}
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("error %q does not say %q", err, tc.reason)
			}
		})
	}
}

func TestValidateOptionalFields(t *testing.T) {
	ev := &event.Event{ID: "x", Entity: "a", EntityID: "1", Action: "b", OccurredAt: "2026-01-01T00:00:00Z", Data: json.RawMessage(" {}")}
	if err := ev.Validate(); err != nil {
		t.Errorf("minimal event refused: %v", err)
	}
	ev.Data = json.RawMessage("  ")
	if err := ev.Validate(); err == nil {
		t.Error("blank data accepted")
	}
}

// BenchmarkParse is the fan-out's first step for every event: a 600-byte event as the
// benchmark (cmd/webhookbench) publishes it.
func BenchmarkParse(b *testing.B) {
	body := []byte(`{"id":"evt-000001","entity":"customer","entity_id":"C-1001","action":"updated","occurred_at":"2026-11-27T10:00:00Z","actor":"jdoe","changed":["status","name"],"data":{"name":"Ada Lovelace","status":"active","email":"ada@example.com","address":{"city":"Paphos","street":"1 Harbour Road","zip":"8000"},"tags":["vip","b2b"],"score":42,"notes":"` + strings.Repeat("x", 280) + `"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := event.Parse("crm.events.customer.updated", body); err != nil {
			b.Fatal(err)
		}
	}
}
