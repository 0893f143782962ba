package rules

import (
	"encoding/json"
	"testing"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/event"
)

// FuzzMatch: whatever the condition and the data, Match neither panics nor fails on an event
// whose data is a JSON object; a condition that cannot be evaluated is simply false.
func FuzzMatch(f *testing.F) {
	f.Add(`event.data.status == "active" && "status" in event.changed`, `{"status":"active"}`)
	f.Add(`event.data.a.b.c > 1`, `{"a":{"b":{"c":1e400}}}`)
	f.Add(`event.data.n + 1 == 9223372036854775808`, `{"n":9223372036854775807}`)
	f.Add(`event.data.l.all(x, x.size() > 0)`, `{"l":[[1],{},"",null,true]}`)
	f.Add(`event.data.s.matches(event.data.r)`, `{"s":"aaa","r":"(a+)+$"}`)
	f.Fuzz(func(t *testing.T, cond, data string) {
		if _, err := config.CompileCondition(cond); err != nil {
			return
		}
		var obj map[string]any
		if json.Unmarshal([]byte(data), &obj) != nil || obj == nil {
			return
		}
		ix, err := New([]config.Rule{rule("r", "customer", nil, cond, "d1")}, defs,
			OnConditionError(func(string, error) {}))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		ms, err := ix.Match(&event.Event{ID: "e", Entity: "customer", Action: "updated", Data: []byte(data)})
		if err != nil {
			t.Fatalf("Match: %v", err)
		}
		if len(ms) > 1 {
			t.Fatalf("matches = %v", names(ms))
		}
	})
}
