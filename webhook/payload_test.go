package webhook_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/webhookd/webhookd/event"
	"github.com/webhookd/webhookd/webhook"
)

func testEvent(data string) *event.Event {
	return &event.Event{
		ID:         "evt-1",
		Entity:     "customer",
		EntityID:   "C-1001",
		Action:     "updated",
		OccurredAt: "2024-05-01T10:20:30.123+03:00",
		Actor:      "jdoe",
		Changed:    []string{"status"},
		Data:       json.RawMessage(data),
	}
}

func TestBuildBody(t *testing.T) {
	const data = `{"name": "Ada <&>", "status": "active", "big": 12345678901234567890, "exp": 1.5e300,
		"address": {"city": "Paphos", "zip": "8010"}, "z": 1, "a": 2}`
	tests := []struct {
		name   string
		ev     *event.Event
		fields []string
		want   string
	}{
		{
			name: "whole data, as written",
			ev:   testEvent(data),
			want: `{"type":"customer.updated","timestamp":"2024-05-01T10:20:30.123+03:00","data":{"event_id":"evt-1","entity":"customer","entity_id":"C-1001","action":"updated","actor":"jdoe","workflow_rule":"rule-1","webhook_definition":"def-1","fields":{"name":"Ada <&>","status":"active","big":12345678901234567890,"exp":1.5e300,"address":{"city":"Paphos","zip":"8010"},"z":1,"a":2}}}`,
		},
		{
			name:   "projected",
			ev:     testEvent(data),
			fields: []string{"big", "address.city", "missing", "name"},
			want:   `{"type":"customer.updated","timestamp":"2024-05-01T10:20:30.123+03:00","data":{"event_id":"evt-1","entity":"customer","entity_id":"C-1001","action":"updated","actor":"jdoe","workflow_rule":"rule-1","webhook_definition":"def-1","fields":{"name":"Ada <&>","big":12345678901234567890,"address":{"city":"Paphos"}}}}`,
		},
		{
			name: "no actor",
			ev: func() *event.Event {
				ev := testEvent(`{}`)
				ev.Actor = ""
				return ev
			}(),
			fields: []string{"x"},
			want:   `{"type":"customer.updated","timestamp":"2024-05-01T10:20:30.123+03:00","data":{"event_id":"evt-1","entity":"customer","entity_id":"C-1001","action":"updated","actor":"","workflow_rule":"rule-1","webhook_definition":"def-1","fields":{}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := webhook.BuildBody(tt.ev, "rule-1", "def-1", tt.fields)
			if err != nil {
				t.Fatalf("BuildBody: %v", err)
			}
			if string(got) != tt.want {
				t.Fatalf("BuildBody =\n%s\nwant\n%s", got, tt.want)
			}
			var p webhook.Payload
			if err := json.Unmarshal(got, &p); err != nil {
				t.Fatalf("body does not decode into Payload: %v", err)
			}
		})
	}
}

func TestBuildBodyErrors(t *testing.T) {
	tests := []struct {
		name   string
		ev     *event.Event
		fields []string
	}{
		{"nil event", nil, nil},
		{"data not an object", testEvent(`[1]`), nil},
		{"data empty", testEvent(``), nil},
		{"data broken, whole", testEvent(`{"a":}`), nil},
		{"data broken, projected", testEvent(`{"a":}`), []string{"a"}},
		{"data trailing content, projected", testEvent(`{"a":1} {}`), []string{"a"}},
		{"data trailing content, whole", testEvent(`{"a":1} {}`), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if b, err := webhook.BuildBody(tt.ev, "r", "d", tt.fields); err == nil {
				t.Fatalf("BuildBody = %s, want an error", b)
			}
		})
	}
}

func FuzzBuildBody(f *testing.F) {
	f.Add(`{"a":{"b":12345678901234567890},"c":"<x>"}`, "a.b,c", "jdoe")
	f.Add(`{}`, "", "")
	f.Add(`{"a":1e400}`, "a", "\u2028")
	f.Fuzz(func(t *testing.T, data, pathList, actor string) {
		ev := testEvent(data)
		ev.Actor = actor
		var fields []string
		if pathList != "" {
			fields = strings.Split(pathList, ",")
		}
		body, err := webhook.BuildBody(ev, "rule-1", "def-1", fields)
		if err != nil {
			return
		}
		var p webhook.Payload
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("body %s is not a Payload: %v", body, err)
		}
		if p.Type != "customer.updated" || p.Timestamp != ev.OccurredAt || p.Data.WorkflowRule != "rule-1" || p.Data.WebhookDefinition != "def-1" {
			t.Fatalf("envelope wrong: %s", body)
		}
		if utf8.ValidString(actor) && p.Data.Actor != actor {
			t.Fatalf("actor %q came back as %q", actor, p.Data.Actor)
		}
		if len(p.Data.Fields) == 0 || p.Data.Fields[0] != '{' {
			t.Fatalf("fields is not an object: %s", p.Data.Fields)
		}
		if fields == nil {
			var want bytes.Buffer
			if err := json.Compact(&want, []byte(data)); err != nil {
				t.Fatalf("accepted data that does not compact: %v", err)
			}
			if !bytes.Equal(want.Bytes(), p.Data.Fields) {
				t.Fatalf("whole data changed:\n%s\n%s", want.Bytes(), p.Data.Fields)
			}
		}
	})
}

func BenchmarkBuildBody(b *testing.B) {
	const data = `{"name":"Ada Lovelace","email":"ada@example.com","status":"active","score":12345678901234567890,
		"address":{"street":"1 Main St","city":"Paphos","zip":"8010","country":"CY"},
		"tags":["vip","beta"],"notes":"` + "lorem ipsum dolor sit amet " + `"}`
	ev := testEvent(data)
	b.Run("whole", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := webhook.BuildBody(ev, "rule-1", "def-1", nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("projected", func(b *testing.B) {
		fields := []string{"name", "email", "status", "address.city"}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := webhook.BuildBody(ev, "rule-1", "def-1", fields); err != nil {
				b.Fatal(err)
			}
		}
	})
}
