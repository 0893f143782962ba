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

// bodySeeds are (data, fields, actor) on which BuildBody could most easily part from
// referenceBuildBody: what encoding/json escaped in a string but kept in fields (U+2028,
// U+2029, invalid UTF-8), HTML, escapes, numbers, white space and repeated names kept as
// written, and data that is not JSON.
var bodySeeds = [][3]string{
	{`{"a":{"b":12345678901234567890},"c":"<x>"}`, "a.b,c", "jdoe"},
	{`{}`, "", ""},
	{`{"a":1e400}`, "a", "\u2028"},
	{"{\"a\":\"\u2028\u2029\",\"\u2028\":1}", "", "jdoe"},
	{"{\"a\":\"\u2028\u2029\",\"\u2028\":1}", "\u2028,a", "jdoe"},
	{`{"a":"x"}`, "", "\u2029"},
	{`{"a":"x"}`, "", "j\xffdoe"},
	{"{\"a\":\"\xff\xfe\",\"k\xff\":\"\xed\xa0\x80\"}", "", "jdoe"},
	{"{\"a\":\"\xff\xfe\",\"k\xff\":\"\xed\xa0\x80\"}", "k\xff,a", "jdoe"},
	{`{"s":"\u00e9\/\"\\\b\f\n\r\t\u0000\u001F\ud83d\ude00\ud800","t":"\u003c"}`, "", "<&>\"\\\x00\x1f\x7f\n"},
	{`{"s":"\u00e9\/\"\\\b\f\n\r\t\u0000\u001F\ud83d\ude00\ud800","t":"\u003c"}`, "s,t", "é😀"},
	{`{"a":12345678901234567890,"b":-0,"c":1E400,"d":1.50e+02,"e":-0.0,"f":0.1e-7}`, "", ""},
	{" {\n\t\"a\" : [ 1 , 2 ] ,\r\n \"b\" : { \"c\" : null } } ", "", ""},
	{" {\n\t\"a\" : [ 1 , 2 ] ,\r\n \"b\" : { \"c\" : null } } ", "b.c,a", ""},
	{`{"a":1,"a":{"b":2,"b":3}}`, "", ""},
	{`{"a":1,"a":{"b":2,"b":3}}`, "a.b", ""},
	{`{"a":[[[{"b":[null,true,false,"x"]}]]],"c":{}}`, "", ""},
	{`{"a":}`, "", ""},
	{`{"a":1} {}`, "", ""},
	{`{"a":1} {}`, "a", ""},
	{`[1]`, "", ""},
	{`{"a":01}`, "", ""},
	{"{\"a\":\"\x01\"}", "", ""},
	{``, "", ""},
}

func TestBuildBodyMatchesReference(t *testing.T) {
	for _, s := range bodySeeds {
		checkSameBody(t, testEvent(s[0]), s[1], s[2])
	}
	// The envelope's other strings, which FuzzBuildBody leaves alone.
	for _, change := range []func(ev *event.Event){
		func(ev *event.Event) { ev.ID = "<e&1>\u2028" },
		func(ev *event.Event) { ev.EntityID = "C-\xff" },
		func(ev *event.Event) { ev.EntityID = "\"</script>\\\x00\x7f" },
		func(ev *event.Event) { ev.OccurredAt = "2024-05-01T10:20:30\u2029" },
		func(ev *event.Event) { ev.Entity, ev.Action = "é", "😀" },
	} {
		ev := testEvent(`{"a":"\u2028"}`)
		change(ev)
		checkSameBody(t, ev, "", ev.Actor)
		checkSameBody(t, ev, "a", ev.Actor)
	}
	deep := strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat(`}`, 10000)
	checkSameBody(t, testEvent(deep), "", "")
	deep = strings.Repeat(`{"a":`, 10001) + `1` + strings.Repeat(`}`, 10001)
	checkSameBody(t, testEvent(deep), "", "")
}

// checkSameBody fails unless BuildBody writes what referenceBuildBody writes, byte for byte,
// or fails with the same error.
func checkSameBody(t *testing.T, ev *event.Event, pathList, actor string) {
	t.Helper()
	ev.Actor = actor
	var fields []string
	if pathList != "" {
		fields = strings.Split(pathList, ",")
	}
	want, wantErr := referenceBuildBody(ev, "rule-1", "def-1", fields)
	got, err := webhook.BuildBody(ev, "rule-1", "def-1", fields)
	if (err != nil) != (wantErr != nil) || err != nil && err.Error() != wantErr.Error() {
		t.Fatalf("BuildBody(%q, %q, %q): %v; reference: %v", ev.Data, pathList, actor, err, wantErr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("BuildBody(%q, %q, %q) =\n%q\nreference\n%q", ev.Data, pathList, actor, got, want)
	}
}

func FuzzBuildBody(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, data, pathList, actor string) {
		checkSameBody(t, testEvent(data), pathList, actor)
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
