package event_test

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/event"
)

const minimal = `{"id":"x","entity":"a","entity_id":"1","action":"b","occurred_at":"2026-01-01T00:00:00Z","data":{}}`

// referenceSeeds are the inputs on which Parse could most easily part from referenceParse:
// what encoding/json tolerated (repeated names, invalid UTF-8, escapes, a closing bracket after
// the object), nulls, case, every kind of value in every field, and the inputs of the other
// tests.
func referenceSeeds() [][2]string {
	const s = "crm.events.a.b"
	env := func(members string) string {
		return `{"id":"x","entity":"a","entity_id":"1","action":"b","occurred_at":"2026-01-01T00:00:00Z",` + members + `}`
	}
	seeds := [][2]string{
		{"crm.events.customer.updated", valid},
		{s, minimal},
		{"crm.events", "{}"},
		{s, " \t\r\n" + minimal + " \t\r\n"},
		{s, minimal + "]"},
		{s, minimal + "}"},
		{s, minimal + " }garbage"},
		{s, minimal + " ]]]"},
		{s, minimal + "\n{}"},
		{s, minimal + "x"},
		{s, minimal + "\xff"},
		{s, minimal + "null"},
		{s, "\xef\xbb\xbf" + minimal},
		{s, "null"},
		{s, "null }"},
		{s, "nullx"},
		{s, "true"},
		{s, `"x"`},
		{s, "1"},
		{s, "-"},
		{s, "[1]x"},
		{s, "[1,"},
		{s, "{"},
		{s, `{"a"`},
		{s, `{"a":`},
		{s, `{"a":1`},
		{s, `{"a":1,}`},
		{s, `{,}`},
		{s, `{1:2}`},
		{s, `{"a" 1}`},
		{s, "{}"},
		{s, " "},
		// Repeated names: the last one wins.
		{s, env(`"data":{"a":1},"data":{"b":2}`)},
		{s, env(`"data":{"a":1},"data":null`)},
		{s, env(`"data":[1],"data":{"a":1}`)},
		{s, `{"id":"first","id":"x","entity":"a","entity_id":"1","action":"b","occurred_at":"2026-01-01T00:00:00Z","data":{}}`},
		{s, `{"id":5,"id":"x","entity":"a","entity_id":"1","action":"b","occurred_at":"2026-01-01T00:00:00Z","data":{}}`},
		{s, `{"id":"x","id":null,"entity":"a","entity_id":"1","action":"b","occurred_at":"2026-01-01T00:00:00Z","data":{}}`},
		{s, env(`"changed":["a"],"changed":null,"data":{}`)},
		{s, env(`"changed":[1],"changed":["a"],"data":{}`)},
		{s, env(`"changed":["a"],"changed":[1],"data":{}`)},
		{s, env(`"actor":"a","actor":"b","data":{}`)},
		{s, env(`"data":{"a":1,"a":2}`)},
		// Invalid UTF-8 and escapes: replaced in string fields, kept in data.
		{s, env("\"actor\":\"j\xffd\xc3\",\"data\":{\"k\xff\":\"v\xfe\xed\xa0\x80\"}")},
		{s, "{\"id\":\"\xff\xfe\",\"entity\":\"a\",\"entity_id\":\"1\",\"action\":\"b\",\"occurred_at\":\"2026-01-01T00:00:00Z\",\"data\":{}}"},
		{s, env("\"actor\":\"\xf0\x9f\x98\",\"data\":{\"s\":\"\xe2\x80\xa8\xf0\"}")},
		{s, env("\"actor\":\"\xf0\x9f\x98")},
		{s, env(`"actor":"\ud800","data":{}`)},
		{s, env(`"actor":"\udc00\ud83d\ude00\ud83d\u0041\ud83d","data":{}`)},
		{s, env(`"actor":"\ud83d\ud83d\ude00","data":{}`)},
		{s, env(`"actor":"\u00e9\"\\\/\b\f\n\r\t\u2028","data":{"s":"\u0000"}`)},
		{s, env("\"actor\":\"\x01\",\"data\":{}")},
		{s, env("\"actor\":\"\x7f\",\"data\":{\"\x00\":1}")},
		{s, env(`"actor":"\u12","data":{}`)},
		{s, env(`"actor":"\x","data":{}`)},
		{s, env("\"changed\":[\"\xff\",\"\\ud800\",null,\"\"],\"data\":{}")},
		{s, `{"\u0069d":"x","entity":"a","entity_id":"1","action":"b","occurred_at":"2026-01-01T00:00:00Z","data":{}}`},
		{s, "{\"i\xffd\":\"y\",\"id\":\"x\",\"entity\":\"a\",\"entity_id\":\"1\",\"action\":\"b\",\"occurred_at\":\"2026-01-01T00:00:00Z\",\"data\":{}}"},
		// Names are matched exactly.
		{s, `{"ID":"x","entity":"a","entity_id":"1","action":"b","occurred_at":"2026-01-01T00:00:00Z","data":{}}`},
		{s, env(`"Data":{"a":1}`)},
		{s, env(`"Data":{"a":1},"data":{}`)},
		// Nulls: absent for a string field, nil for changed, not an object for data.
		{s, env(`"actor":null,"changed":null,"data":{}`)},
		{s, env(`"data":null`)},
		{s, `{"id":null,"entity":"a","entity_id":"1","action":"b","occurred_at":"2026-01-01T00:00:00Z","data":{}}`},
		{s, env(`"changed":[],"data":{}`)},
		{s, env(`"changed":[null],"data":{}`)},
		{s, env(`"changed":["a",{"b":1},"c"],"data":{}`)},
		{s, env(`"changed":"a","data":{}`)},
		{s, env(`"changed":{},"data":{}`)},
		{s, env(`"changed":[["a"]],"data":{}`)},
		{s, env(`"changed":[1,}`)},
		// Every kind in every field.
		{s, env(`"actor":true,"data":{}`)},
		{s, env(`"actor":{},"data":{}`)},
		{s, env(`"actor":[],"data":{}`)},
		{s, env(`"actor":-1.5e3,"data":{}`)},
		{s, env(`"data":"{}"`)},
		{s, env(`"data":[]`)},
		{s, env(`"data":1`)},
		{s, env(`"data":true`)},
		{s, env(`"data":{"a":}`)},
		{s, env(`"data":{"a":1]`)},
		{s, env(`"data":{"a":01}`)},
		{s, env(`"data":{"a":1.}`)},
		{s, env(`"data":{"a":nul}`)},
		{s, `{"id":"x","entity":"a","entity_id":"1","action":"b","occurred_at":"2026-01-01T00:00:00Z"}`},
		{s, `{"id":"x","entity":1,"entity_id":null,"action":"b","occurred_at":"2026-01-01T00:00:00Z","data":{}}`},
		{s, `{"id":"","entity":1,"data":{}}`},
		{s, `{"id":"x","entity":"A","entity_id":"1","action":"b","occurred_at":"2026-01-01T00:00:00Z","data":{}}`},
		{s, `{"id":"x","entity":"a","entity_id":"","action":"b","occurred_at":"2026-01-01T00:00:00Z","data":{}}`},
		{s, `{"id":"x","entity":"a","entity_id":"1","action":"b","occurred_at":"2026-01-01T00:00:00,5Z","data":{}}`},
		{s, `{"id":"x","entity":"a","entity_id":"1","action":"b","occurred_at":"2026-01-01 00:00:00Z","data":{}}`},
		{"crm.events.b.a", minimal},
		{"crm.events.a.b.c", minimal},
		{"crm.events..b", minimal},
		// Numbers and white space in data, as written.
		{s, env(`"data": { "n" : 12345678901234567890 , "f":1.5e300, "z":-0.0e-0 ,"s":"<&>" } `)},
		{s, env(`"data":{"a":[1,{"b":[null,true,false]}],"c":{}}`)},
	}
	for _, tc := range invalidCases() {
		seeds = append(seeds, [2]string{tc.subject, tc.body})
	}
	for _, n := range []int{1, 128, 129} {
		for _, c := range []string{"a", "é", "😀"} {
			seeds = append(seeds, [2]string{"crm.events.customer.updated",
				fmt.Sprintf(`{"id":%q,"entity":"customer","entity_id":"C","action":"updated","occurred_at":"2026-11-27T10:00:00Z","data":{}}`, strings.Repeat(c, n))})
		}
	}
	return seeds
}

// checkSameParse fails unless Parse gives what referenceParse gives: the same event, every
// field and every byte of data, or an *InvalidError with the same reason.
func checkSameParse(t *testing.T, subject, body string) {
	t.Helper()
	want, wantErr := referenceParse(subject, []byte(body))
	got, err := event.Parse(subject, []byte(body))
	if wantErr != nil {
		var ie *event.InvalidError
		if !errors.As(err, &ie) {
			t.Fatalf("Parse(%q, %q) = %#v, %v; reference refuses it: %v", subject, body, got, err, wantErr)
		}
		if ie.Reason != wantErr.(*event.InvalidError).Reason {
			t.Fatalf("Parse(%q, %q) reason\n%q\nreference\n%q", subject, body, ie.Reason, wantErr.(*event.InvalidError).Reason)
		}
		return
	}
	if err != nil {
		t.Fatalf("Parse(%q, %q): %v; reference accepts it: %#v", subject, body, err, want)
	}
	if !reflect.DeepEqual(got, want) || !bytes.Equal(got.Data, want.Data) {
		t.Fatalf("Parse(%q, %q) =\n%#v\nreference\n%#v", subject, body, got, want)
	}
	// Data is the event's own, not a window on the body the caller may reuse.
	if len(body) > 0 && len(got.Data) > 0 {
		b := []byte(body)
		again, _ := event.Parse(subject, b)
		for i := range b {
			b[i] = 0
		}
		if !bytes.Equal(again.Data, want.Data) {
			t.Fatalf("Parse(%q, %q): Data shares the body's memory", subject, body)
		}
	}
}

func TestParseMatchesReference(t *testing.T) {
	for _, s := range referenceSeeds() {
		checkSameParse(t, s[0], s[1])
	}
	// The nesting limit both decoders share: 10000 levels, the body's object counted. Not a
	// seed of FuzzParse: bodies this long slow every mutation down.
	deep := func(n int) string {
		return `{"id":"x","entity":"a","entity_id":"1","action":"b","occurred_at":"2026-01-01T00:00:00Z","data":` +
			strings.Repeat(`{"a":`, n) + `1` + strings.Repeat(`}`, n) + `}`
	}
	checkSameParse(t, "crm.events.a.b", deep(9999))
	checkSameParse(t, "crm.events.a.b", deep(10000))
	if _, err := event.Parse("crm.events.a.b", []byte(deep(9999))); err != nil {
		t.Errorf("10000 levels refused: %v", err)
	}
	if _, err := event.Parse("crm.events.a.b", []byte(deep(10000))); err == nil {
		t.Error("10001 levels accepted")
	}
}

// FuzzParse compares Parse with the encoding/json implementation it replaced
// (referenceParse), and checks that whatever it accepts satisfies the contract's rules.
func FuzzParse(f *testing.F) {
	for _, s := range referenceSeeds() {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, subject, body string) {
		checkSameParse(t, subject, body)
		ev, err := event.Parse(subject, []byte(body))
		if err != nil {
			if !event.IsInvalid(err) {
				t.Fatalf("error is not an InvalidError: %v", err)
			}
			return
		}
		if ev.Subject() != subject {
			t.Fatalf("accepted %q for subject %q", ev.Subject(), subject)
		}
		if err := ev.Validate(); err != nil {
			t.Fatalf("accepted event fails Validate: %v", err)
		}
	})
}
