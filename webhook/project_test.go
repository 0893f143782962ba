package webhook_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/webhook"
)

func decode(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decode %s: %v", s, err)
	}
	return m
}

func TestProject(t *testing.T) {
	const data = `{
		"name": "Ada", "email": "ada@example.com", "status": "active", "score": 12345678901234567890,
		"address": {"city": "Paphos", "zip": "8010", "geo": {"lat": 34.77, "lng": 32.42}},
		"tags": [{"k": "v"}], "nothing": null, "empty": {}, "": {"x": 1}, "a.b": 1
	}`
	tests := []struct {
		name  string
		paths []string
		want  string
	}{
		{"nil paths: whole data", nil, data},
		{"empty paths: whole data", []string{}, data},
		{"top-level", []string{"name", "email"}, `{"name":"Ada","email":"ada@example.com"}`},
		{"nested keeps nesting", []string{"address.city"}, `{"address":{"city":"Paphos"}}`},
		{"siblings share their parent", []string{"address.city", "address.zip", "address.geo.lat"}, `{"address":{"city":"Paphos","zip":"8010","geo":{"lat":34.77}}}`},
		{"contract example", []string{"name", "email", "status", "address.city"}, `{"name":"Ada","email":"ada@example.com","status":"active","address":{"city":"Paphos"}}`},
		{"absent left out", []string{"name", "phone", "address.country"}, `{"name":"Ada"}`},
		{"all absent", []string{"phone"}, `{}`},
		{"through a string", []string{"name.first"}, `{}`},
		{"through an array", []string{"tags.0.k", "tags.k"}, `{}`},
		{"through null", []string{"nothing.x"}, `{}`},
		{"null value kept", []string{"nothing"}, `{"nothing":null}`},
		{"empty object kept", []string{"empty"}, `{"empty":{}}`},
		{"whole object", []string{"address"}, `{"address":{"city":"Paphos","zip":"8010","geo":{"lat":34.77,"lng":32.42}}}`},
		{"parent then child", []string{"address", "address.city"}, `{"address":{"city":"Paphos","zip":"8010","geo":{"lat":34.77,"lng":32.42}}}`},
		{"child then parent", []string{"address.geo.lat", "address"}, `{"address":{"city":"Paphos","zip":"8010","geo":{"lat":34.77,"lng":32.42}}}`},
		{"duplicates", []string{"name", "name"}, `{"name":"Ada"}`},
		{"big number exact", []string{"score"}, `{"score":12345678901234567890}`},
		{"empty path is the empty key", []string{"."}, `{}`},
		{"empty key then x", []string{".x"}, `{"":{"x":1}}`},
		{"a key with a dot is unreachable", []string{"a.b"}, `{}`},
		{"trailing dot", []string{"address."}, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := decode(t, data)
			before, _ := json.Marshal(in)
			got := webhook.Project(in, tt.paths)
			if want := decode(t, tt.want); !reflect.DeepEqual(got, want) {
				gotJSON, _ := json.Marshal(got)
				t.Fatalf("Project(%q) = %s, want %s", tt.paths, gotJSON, tt.want)
			}
			if after, _ := json.Marshal(in); !bytes.Equal(before, after) {
				t.Fatalf("Project changed its input:\n%s\n%s", before, after)
			}
			// The production projection selects the same, whatever its key order.
			raw, err := webhook.ProjectJSON([]byte(data), tt.paths)
			if err != nil {
				t.Fatalf("ProjectJSON(%q): %v", tt.paths, err)
			}
			if got, want := decode(t, string(raw)), decode(t, tt.want); !reflect.DeepEqual(got, want) {
				t.Fatalf("ProjectJSON(%q) = %s, want %s", tt.paths, raw, tt.want)
			}
		})
	}
}

func TestProjectNilData(t *testing.T) {
	if got := webhook.Project(nil, []string{"a"}); len(got) != 0 {
		t.Fatalf("Project(nil) = %v", got)
	}
}

func FuzzProject(f *testing.F) {
	f.Add(`{"a":{"b":1,"c":[1]},"d":"x"}`, "a.b,d,a,a.c.0")
	f.Add(`{"":{"":{}}}`, ".,..,")
	f.Add(`{"a":null}`, "a.b")
	f.Fuzz(func(t *testing.T, data, pathList string) {
		var in map[string]any
		dec := json.NewDecoder(strings.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&in); err != nil || in == nil {
			return
		}
		paths := strings.Split(pathList, ",")
		before, err := json.Marshal(in)
		if err != nil {
			return
		}
		out := webhook.Project(in, paths)
		if after, _ := json.Marshal(in); !bytes.Equal(before, after) {
			t.Fatalf("input changed:\n%s\n%s", before, after)
		}
		// Every leaf of the result is the value at the same path in the input, and under a
		// selected path or on the way to one.
		var walk func(prefix []string, node map[string]any)
		walk = func(prefix []string, node map[string]any) {
			for k, v := range node {
				p := append(append([]string(nil), prefix...), k)
				full := strings.Join(p, ".")
				selected := false
				for _, s := range paths {
					if s == full {
						selected = true
					}
				}
				if selected {
					if !reflect.DeepEqual(lookupPath(in, p), v) {
						t.Fatalf("%q: got %v, input has %v", full, v, lookupPath(in, p))
					}
					continue
				}
				sub, ok := v.(map[string]any)
				if !ok {
					t.Fatalf("%q is in the result but neither selected nor an object on the way", full)
				}
				walk(p, sub)
			}
		}
		walk(nil, out)
		// Every selected path present in the input is in the result.
		for _, s := range paths {
			segs := strings.Split(s, ".")
			if v, ok := webhook.Lookup(in, segs); ok && !reflect.DeepEqual(lookupPath(out, segs), v) {
				t.Fatalf("%q present in input but result has %v", s, lookupPath(out, segs))
			}
		}
	})
}

func lookupPath(m map[string]any, segs []string) any {
	v, _ := webhook.Lookup(m, segs)
	return v
}
