package webhook_test

import (
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/event"
	"github.com/webhookd/webhookd/webhook"
)

// CONTRACT.md section 3, byte for byte: the envelope's fields in the contract's order, the
// timestamp exactly as received (offset and fraction kept), and fields projected with nesting
// kept, absent paths left out, and the event's own key order (not alphabetical).
func TestContractBodyBytes(t *testing.T) {
	ev, err := event.Parse("crm.events.customer.updated", []byte(`{"id":"e-1","entity":"customer","entity_id":"C-1001",
		"action":"updated","occurred_at":"2026-11-27T10:00:00.5+02:00","actor":"jdoe","changed":["status"],
		"data":{"status":"active","name":"Ada","zeta":1,"address":{"zip":"8000","city":"Paphos","geo":{"lng":1,"lat":2}},
		"email":"a@x","big":12345678901234567890}}`))
	if err != nil {
		t.Fatal(err)
	}
	const envelope = `{"type":"customer.updated","timestamp":"2026-11-27T10:00:00.5+02:00","data":{"event_id":"e-1",` +
		`"entity":"customer","entity_id":"C-1001","action":"updated","actor":"jdoe","workflow_rule":"r-1","webhook_definition":"d-1","fields":`
	for _, tc := range []struct {
		name   string
		fields []string
		want   string
	}{
		{"whole data", nil, `{"status":"active","name":"Ada","zeta":1,"address":{"zip":"8000","city":"Paphos","geo":{"lng":1,"lat":2}},"email":"a@x","big":12345678901234567890}`},
		{"contract fields set", []string{"name", "email", "status", "address.city"}, `{"status":"active","name":"Ada","address":{"city":"Paphos"},"email":"a@x"}`},
		{"absent paths left out", []string{"email", "missing.path", "address.country", "name"}, `{"name":"Ada","email":"a@x"}`},
		{"nested order kept", []string{"address.geo.lat", "address.zip", "address.geo.lng", "zeta"}, `{"zeta":1,"address":{"zip":"8000","geo":{"lng":1,"lat":2}}}`},
		{"numbers exact", []string{"big"}, `{"big":12345678901234567890}`},
		{"nothing selected", []string{"nope"}, `{}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, err := webhook.BuildBody(ev, "r-1", "d-1", tc.fields)
			if err != nil {
				t.Fatal(err)
			}
			if want := envelope + tc.want + `}}`; string(body) != want {
				t.Errorf("body\n got %s\nwant %s", body, want)
			}
		})
	}
}

func TestContractProjectJSONDuplicateKeys(t *testing.T) {
	got, err := webhook.ProjectJSON([]byte(`{"a":1,"b":2,"a":3}`), []string{"b", "a"})
	if err != nil || string(got) != `{"a":3,"b":2}` {
		t.Fatalf("ProjectJSON = %s, %v; want {\"a\":3,\"b\":2} (last value, first place)", got, err)
	}
	if _, err := webhook.ProjectJSON([]byte(`[1]`), []string{"a"}); err == nil {
		t.Fatal("ProjectJSON of an array: no error")
	}
}

// ProjectJSON selects exactly what the reference Project (export_test.go) selects; only the
// order differs.
func FuzzProjectJSONMatchesProject(f *testing.F) {
	f.Add(`{"a":{"b":1,"c":[1]},"d":"x"}`, "a.b,d,a,a.c.0")
	f.Add(`{"":{"":{}}}`, ".,..,")
	f.Add(`{"a":null,"b":{"c":{}}}`, "a.b,b.c,b.c.d")
	f.Add(`{"a":{"x":1},"a":{"y":2}}`, "a.x,a.y")
	f.Fuzz(func(t *testing.T, data, pathList string) {
		paths := strings.Split(pathList, ",")
		var in map[string]any
		dec := json.NewDecoder(strings.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&in); err != nil || in == nil {
			return
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return // content after the object: event.Parse refuses such data
		}
		got, err := webhook.ProjectJSON([]byte(data), paths)
		if err != nil {
			t.Fatalf("ProjectJSON(%s, %q): %v", data, paths, err)
		}
		var gotMap map[string]any
		dec = json.NewDecoder(strings.NewReader(string(got)))
		dec.UseNumber()
		if err := dec.Decode(&gotMap); err != nil {
			t.Fatalf("ProjectJSON(%s, %q) = %s, not JSON: %v", data, paths, got, err)
		}
		want := webhook.Project(in, paths)
		// Round-trip want through JSON so both sides hold the same types.
		b, err := json.Marshal(want)
		if err != nil {
			return
		}
		var wantMap map[string]any
		dec = json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		if err := dec.Decode(&wantMap); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(gotMap, wantMap) {
			t.Fatalf("ProjectJSON(%s, %q) = %s, Project = %s", data, paths, got, b)
		}
	})
}
