package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/event"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/webhook"
)

// benchEvent is the 600-byte event of event.BenchmarkParse, as cmd/webhookbench publishes it.
const benchEvent = `{"id":"evt-000001","entity":"customer","entity_id":"C-1001","action":"updated","occurred_at":"2026-11-27T10:00:00Z","actor":"jdoe","changed":["status","name"],"data":{"name":"Ada Lovelace","status":"active","email":"ada@example.com","address":{"city":"Paphos","street":"1 Harbour Road","zip":"8000"},"tags":["vip","b2b"],"score":42,"notes":"`

// sampleTask is a first attempt's task as the fan-out makes it: a ~700-byte body.
func sampleTask(tb testing.TB) *task {
	tb.Helper()
	ev, err := event.Parse("crm.events.customer.updated", []byte(benchEvent+strings.Repeat("x", 280)+`"}}`))
	if err != nil {
		tb.Fatal(err)
	}
	body, err := webhook.BuildBody(ev, "customer-activated", "erp-sync", nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &task{
		WebhookID:    webhook.NewWebhookID(ev.ID, "customer-activated", "erp-sync"),
		EventID:      ev.ID,
		Entity:       ev.Entity,
		EntityID:     ev.EntityID,
		Action:       ev.Action,
		Rule:         storage.Ref{ID: "customer-activated", Name: "Customer activated"},
		DefinitionID: "erp-sync",
		FieldsSet:    &config.FieldsSet{Name: "customer-basic", Fields: []string{"name", "email", "status", "address.city"}},
		Body:         body,
		CreatedAt:    time.Date(2026, 11, 27, 8, 0, 0, 123456789, time.UTC),
	}
}

// BenchmarkEncodeTask is publishTask's encoding, once for every queued delivery and retry.
func BenchmarkEncodeTask(b *testing.B) {
	t := sampleTask(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeTask(t); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeTask is the first step of every attempt taken from a definition's queue.
func BenchmarkDecodeTask(b *testing.B) {
	data, err := encodeTask(sampleTask(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeTask(data); err != nil {
			b.Fatal(err)
		}
	}
}

// wireTasks are tasks of every shape the pipeline queues, and of the odd ones it could: a first
// attempt and a retry (NotBefore), with and without a fields set (nil, empty and nil fields),
// times in and out of UTC, with and without nanoseconds, at the ends of RFC 3339's range, a
// resend's task made from a stored request, and strings and bodies that encoding/json escapes
// (<, >, &, U+2028, control characters), keeps as written (escapes, numbers, repeated names,
// invalid UTF-8 in the body) or mends (invalid UTF-8 in a string field).
func wireTasks(tb testing.TB) map[string]*task {
	tb.Helper()
	first := sampleTask(tb)
	with := func(change func(t *task)) *task {
		t := *first
		if first.FieldsSet != nil {
			fs := *first.FieldsSet
			t.FieldsSet = &fs
		}
		change(&t)
		return &t
	}
	body := func(b string) *task { return with(func(t *task) { t.Body = []byte(b) }) }
	tasks := map[string]*task{
		"first attempt": first,
		"retry": with(func(t *task) {
			t.Attempts = 3
			t.NotBefore = time.Date(2026, 11, 27, 8, 0, 42, 500000000, time.UTC)
		}),
		"no fields set":      with(func(t *task) { t.FieldsSet = nil }),
		"nil fields":         with(func(t *task) { t.FieldsSet = &config.FieldsSet{Name: "none"} }),
		"empty fields":       with(func(t *task) { t.FieldsSet = &config.FieldsSet{Name: "none", Fields: []string{}} }),
		"empty fields set":   with(func(t *task) { t.FieldsSet = &config.FieldsSet{} }),
		"whole seconds":      with(func(t *task) { t.CreatedAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }),
		"trailing zeros":     with(func(t *task) { t.CreatedAt = time.Date(2026, 1, 2, 3, 4, 5, 120000000, time.UTC) }),
		"one nanosecond":     with(func(t *task) { t.CreatedAt = time.Date(2026, 1, 2, 3, 4, 5, 1, time.UTC) }),
		"offset":             with(func(t *task) { t.CreatedAt = time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("IST", 5*3600+1800)) }),
		"negative offset":    with(func(t *task) { t.NotBefore = time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("", -(3*3600+30*60))) }),
		"offset in seconds":  with(func(t *task) { t.CreatedAt = time.Date(1900, 1, 1, 0, 0, 0, 0, time.FixedZone("LMT", 1172)) }),
		"monotonic":          with(func(t *task) { t.CreatedAt = time.Now(); t.NotBefore = time.Now().Add(time.Minute).UTC() }),
		"zero created_at":    with(func(t *task) { t.CreatedAt = time.Time{} }),
		"year 9999":          with(func(t *task) { t.CreatedAt = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC) }),
		"year 10000":         with(func(t *task) { t.CreatedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }),
		"negative year":      with(func(t *task) { t.NotBefore = time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC) }),
		"offset of 24 hours": with(func(t *task) { t.CreatedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600)) }),
		"escaped strings": with(func(t *task) {
			t.EventID = "<e&1>\u2028\u2029\"\\/\x00\x01\b\f\n\r\t\x1f\x7f é😀\ufffd"
			t.EntityID = "</script>"
			t.Rule.Name = "Ada & <Bob>"
			t.FieldsSet.Fields = []string{"a<b", "c&d", "\u2028"}
		}),
		"invalid UTF-8 in a string":  with(func(t *task) { t.EntityID = "C-\xff\xfe-\xed\xa0\x80-\xf0\x9f\x98" }),
		"invalid UTF-8 in the body":  body("{\"a\":\"\xff\xfe<\xe2\x80\xa8\"}"),
		"HTML in the body":           body(`{"s":"<a href=\"x\">&amp;</a>","k<&>":1}`),
		"U+2028 in the body":         body("{\"s\":\"\u2028x\u2029\",\"\u2028\":\"\\u2028\"}"),
		"escapes in the body":        body(`{"s":"\u00e9\/\"\\\b\f\n\r\t\u0000\u001F\ud83d\ude00","t":"\u003c"}`),
		"lone surrogate in the body": body(`{"s":"\ud800","t":"\udc00\ud83d"}`),
		"numbers in the body":        body(`{"a":12345678901234567890,"b":-0,"c":1E400,"d":1.50e+02,"e":-0.0,"f":0.1e-7}`),
		"white space in the body":    body(" {\n\t\"a\" : [ 1 , 2 ] ,\r\n \"b\" : { } } "),
		"repeated names":             body(`{"a":1,"a":{"b":2,"b":3}}`),
		"nested body":                body(`{"a":[[[{"b":[null,true,false,"x"]}]]],"c":{}}`),
		"empty body":                 body(``),
		"broken body":                body(`{"a":}`),
		"body with trailing data":    body(`{} {}`),
		"not an object":              body(`"x"`),
		"null body":                  body(`null`),
		"nil body":                   with(func(t *task) { t.Body = nil }),
		"resend": taskOf(&storage.WebhookRequest{
			WebhookID:         "msg_2x",
			EventID:           "evt-9",
			Entity:            "order",
			EntityID:          "O-7",
			WorkflowRule:      storage.Ref{ID: "r", Name: "R"},
			WebhookDefinition: storage.Ref{ID: "d", Name: "D"},
			Attempts:          6,
			Request:           storage.RequestInfo{Body: `{"type":"order.created","data":{"x":"<y>"}}`},
			Log:               storage.Log{CreatedAt: time.Date(2026, 5, 1, 10, 20, 30, 0, time.FixedZone("CEST", 7200))},
		}),
	}
	return tasks
}

// TestEncodeTaskKeepsTheBody: a queued task's body is the body the fan-out built, byte for
// byte (a retry sends what the first attempt sent), and both versions read what is queued: this
// one, and the previous one with encoding/json.
func TestEncodeTaskKeepsTheBody(t *testing.T) {
	for name, task := range wireTasks(t) {
		t.Run(name, func(t *testing.T) {
			_, refErr := json.Marshal(task)
			data, err := encodeTask(task)
			if refErr != nil {
				// Never queued by either version: not JSON, or a time RFC 3339 cannot write.
				if err == nil {
					t.Fatalf("encodeTask = %q; encoding/json refused it: %v", data, refErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("encodeTask: %v", err)
			}
			if len(task.Body) == 0 {
				return // the fan-out never queues a task without a body
			}
			got, err := decodeTask(data)
			if err != nil {
				t.Fatalf("decodeTask(%q): %v", data, err)
			}
			if want := mustCompact(t, task.Body); !bytes.Equal(got.Body, want) {
				t.Fatalf("queued body = %q, want %q", got.Body, want)
			}
			old, err := referenceDecodeTask(data)
			if err != nil {
				t.Fatalf("the previous version cannot read %q: %v", data, err)
			}
			if !bytes.Equal(old.Body, got.Body) {
				t.Fatalf("the previous version reads the body as %q, this one as %q", old.Body, got.Body)
			}
			if !utf8.Valid(data) {
				return // encoding/json mends invalid UTF-8 in string fields; the body is compared above
			}
			if !sameTask(old, got) {
				t.Fatalf("the previous version reads\n%#v\nthis one\n%#v", old, got)
			}
		})
	}
}

// referenceDecodeTask is decodeTask as it was, with encoding/json.
func referenceDecodeTask(b []byte) (*task, error) {
	var t task
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, err
	}
	if t.WebhookID == "" || t.DefinitionID == "" || len(t.Body) == 0 {
		return nil, errors.New("webhook_id, webhook_definition and body are required")
	}
	return &t, nil
}

// sameTask compares tasks field by field, times by instant and zone (a zone decoded from an
// offset is a new *time.Location each time).
func sameTask(a, b *task) bool {
	sameTime := func(x, y time.Time) bool {
		xn, xo := x.Zone()
		yn, yo := y.Zone()
		return x.Equal(y) && xn == yn && xo == yo
	}
	if !sameTime(a.NotBefore, b.NotBefore) || !sameTime(a.CreatedAt, b.CreatedAt) {
		return false
	}
	a2, b2 := *a, *b
	a2.NotBefore, a2.CreatedAt, b2.NotBefore, b2.CreatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return reflect.DeepEqual(a2, b2)
}

func checkSameDecode(t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := referenceDecodeTask(data)
	got, err := decodeTask(data)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("decodeTask(%q): %v; encoding/json: %v", data, err, wantErr)
	}
	if err == nil && !sameTask(got, want) {
		t.Fatalf("decodeTask(%q) =\n%#v\nencoding/json\n%#v", data, got, want)
	}
}

// TestDecodeTaskReadsEncodingJSON: what the previous version queued (encoding/json's bytes)
// decodes to the task encoding/json decodes it to.
func TestDecodeTaskReadsEncodingJSON(t *testing.T) {
	for name, task := range wireTasks(t) {
		t.Run(name, func(t *testing.T) {
			data, err := json.Marshal(task)
			if err != nil {
				return // never queued
			}
			checkSameDecode(t, data)
			if got, _ := decodeTask(data); got != nil && task.Body != nil && !bytes.Equal(got.Body, mustCompactHTML(t, task.Body)) {
				t.Errorf("body = %q, want %q", got.Body, task.Body)
			}
		})
	}
	for _, data := range []string{
		`{"webhook_id":"w","webhook_definition":"d","body":{}}`,
		`{"webhook_id":"w","webhook_definition":"d","body":{},"fields_set":null,"not_before":null,"unknown":[1,{"x":2}]}`,
		`{"webhook_id":"w","webhook_definition":"d","body":{},"fields_set":{"name":"n","fields":null}}`,
		`{"webhook_id":"w","webhook_definition":"d","body":{},"fields_set":{"name":"n","fields":[]}}`,
		`{"webhook_id":"w","webhook_definition":"d","body":{},"fields_set":{"name":"n","fields":["a",null]}}`,
		`{"webhook_id":"w","webhook_definition":"d","body":{},"fields_set":{}}`,
		`{"webhook_id":"w","webhook_definition":"d","body":  { "a" : 1 } ,"created_at":"2026-01-02T03:04:05.000000001+05:30"}`,
		"{\"webhook_id\":\"w\xff\",\"webhook_definition\":\"d\",\"body\":{\"a\":\"\xff\"}}",
		`{"webhook_id":"w","webhook_definition":"d","body":{},"attempts":2,"not_before":"2026-01-02T03:04:05Z"}`,
		`{"webhook_id":"w","webhook_definition":"d","body":{},"created_at":"0001-01-01T00:00:00Z"}`,
		`{"webhook_id":"w","webhook_definition":"d","body":"x"}`,
		`{"webhook_id":"w","webhook_definition":"d"}`,
		`{"webhook_id":"","webhook_definition":"d","body":{}}`,
		`{"webhook_id":"w","body":{}}`,
		`{"webhook_id":"w","webhook_definition":"d","body":{}`,
		`{"webhook_id":"w","webhook_definition":"d","body":{}} x`,
		`{"webhook_id":"w","webhook_definition":"d","body":{},"attempts":"1"}`,
		`{"webhook_id":"w","webhook_definition":"d","body":{},"created_at":"yesterday"}`,
		`[]`,
		``,
	} {
		checkSameDecode(t, []byte(data))
	}
}

// mustCompact is body compacted, as the fan-out builds bodies.
func mustCompact(t *testing.T, body []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, body); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// mustCompactHTML is body as encoding/json queued it: compacted, HTML escaped.
func mustCompactHTML(t *testing.T, body []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, body); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	json.HTMLEscape(&out, buf.Bytes())
	return out.Bytes()
}
