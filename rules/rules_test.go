package rules

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/event"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func def(id string, active bool) config.Definition {
	d := config.Defaults()
	d.ID, d.Name, d.URL, d.Active = id, id, "https://example.com/"+id, active
	return d
}

func rule(id, entity string, actions []string, cond string, defs ...string) config.Rule {
	return config.Rule{ID: id, Name: id, Entity: entity, Actions: actions, Condition: cond, WebhookDefinitions: defs, Active: true}
}

func inactive(r config.Rule) config.Rule { r.Active = false; return r }

func ev(entity, action, data string, mod ...func(*event.Event)) *event.Event {
	e := &event.Event{
		ID: "ev-1", Entity: entity, EntityID: "C-1", Action: action,
		OccurredAt: "2026-01-02T03:04:05Z", Actor: "jdoe", Changed: []string{"status"},
		Data: []byte(data),
	}
	for _, m := range mod {
		m(e)
	}
	return e
}

func noActor(e *event.Event)   { e.Actor = "" }
func noChanged(e *event.Event) { e.Changed = nil }

var defs = []config.Definition{def("d1", true), def("d2", true), def("off", false)}

func TestMatch(t *testing.T) {
	cust := `{"status":"active","count":3,"price":9.75,"big":9007199254740993,"enabled":true,"address":{"city":"Paphos"},"tags":["vip"]}`
	tests := []struct {
		name     string
		rules    []config.Rule
		ev       *event.Event
		want     []string // "rule/definition"
		condErrs int
	}{
		{"other entity", []config.Rule{rule("r", "customer", nil, "", "d1")}, ev("order", "created", `{}`), nil, 0},
		{"no actions: any action", []config.Rule{rule("r", "customer", nil, "", "d1")}, ev("customer", "deleted", `{}`), []string{"r/d1"}, 0},
		{"listed action", []config.Rule{rule("r", "customer", []string{"created", "updated"}, "", "d1")}, ev("customer", "updated", `{}`), []string{"r/d1"}, 0},
		{"unlisted action", []config.Rule{rule("r", "customer", []string{"created", "updated"}, "", "d1")}, ev("customer", "deleted", `{}`), nil, 0},
		{"inactive rule", []config.Rule{inactive(rule("r", "customer", nil, "", "d1"))}, ev("customer", "updated", `{}`), nil, 0},
		{"inactive definition skipped", []config.Rule{rule("r", "customer", nil, "", "off", "d2")}, ev("customer", "updated", `{}`), []string{"r/d2"}, 0},
		{"only inactive definitions", []config.Rule{rule("r", "customer", nil, "", "off")}, ev("customer", "updated", `{}`), nil, 0},
		{"unknown definition skipped", []config.Rule{rule("r", "customer", nil, "", "gone", "d1")}, ev("customer", "updated", `{}`), []string{"r/d1"}, 0},
		{"repeated definition once", []config.Rule{rule("r", "customer", nil, "", "d1", "d1")}, ev("customer", "updated", `{}`), []string{"r/d1"}, 0},
		{"condition true", []config.Rule{rule("r", "customer", nil, `event.data.status == "active" && "status" in event.changed`, "d1")}, ev("customer", "updated", cust), []string{"r/d1"}, 0},
		{"condition false", []config.Rule{rule("r", "customer", nil, `event.data.status == "blocked"`, "d1")}, ev("customer", "updated", cust), nil, 0},
		{"missing field is false", []config.Rule{rule("r", "customer", nil, `event.data.nope == "x"`, "d1")}, ev("customer", "updated", cust), nil, 0},                  // false, and not an error: not counted
		{"negated missing field is false", []config.Rule{rule("r", "customer", nil, `!(event.data.nope == "x")`, "d1")}, ev("customer", "updated", cust), nil, 0},       // false, and not an error: not counted
		{"missing nested field is false", []config.Rule{rule("r", "customer", nil, `event.data.address.zip == "8000"`, "d1")}, ev("customer", "updated", cust), nil, 0}, // false, and not an error: not counted
		{"absent changed is empty", []config.Rule{rule("r", "customer", nil, `"status" in event.changed`, "d1")}, ev("customer", "updated", cust, noChanged), nil, 0},
		{"absent changed has size 0", []config.Rule{rule("r", "customer", nil, `event.changed.size() == 0`, "d1")}, ev("customer", "updated", cust, noChanged), []string{"r/d1"}, 0},
		{"absent actor is empty", []config.Rule{rule("r", "customer", nil, `event.actor == ""`, "d1")}, ev("customer", "updated", cust, noActor), []string{"r/d1"}, 0},
		{"envelope fields", []config.Rule{rule("r", "customer", nil, `event.id == "ev-1" && event.entity_id == "C-1" && event.action == "updated" && event.entity == "customer" && event.occurred_at.startsWith("2026")`, "d1")}, ev("customer", "updated", cust), []string{"r/d1"}, 0},
		{"dyn bool true", []config.Rule{rule("r", "customer", nil, `event.data.enabled`, "d1")}, ev("customer", "updated", cust), []string{"r/d1"}, 0},
		{"dyn not a bool is false", []config.Rule{rule("r", "customer", nil, `event.data.status`, "d1")}, ev("customer", "updated", cust), nil, 1},
		{"type mismatch is false", []config.Rule{rule("r", "customer", nil, `event.data.status > 3`, "d1")}, ev("customer", "updated", cust), nil, 1},
		{"integers stay integers", []config.Rule{rule("r", "customer", nil, `event.data.count + 1 == 4 && event.data.big == 9007199254740993`, "d1")}, ev("customer", "updated", cust), []string{"r/d1"}, 0},
		{"numbers compare across types", []config.Rule{rule("r", "customer", nil, `event.data.price > 9 && event.data.count == 3.0 && event.data.count < 3.5`, "d1")}, ev("customer", "updated", cust), []string{"r/d1"}, 0},
		{"nested and lists", []config.Rule{rule("r", "customer", nil, `event.data.address.city == "Paphos" && "vip" in event.data.tags`, "d1")}, ev("customer", "updated", cust), []string{"r/d1"}, 0},
		{"has and optional", []config.Rule{rule("r", "customer", nil, `!has(event.data.nope) && event.data.?nope.orValue("x") == "x"`, "d1")}, ev("customer", "updated", cust), []string{"r/d1"}, 0},
		{"error on one side of or", []config.Rule{rule("r", "customer", nil, `event.data.nope == "x" || event.data.status == "active"`, "d1")}, ev("customer", "updated", cust), []string{"r/d1"}, 0},
		{"fan out in configuration order", []config.Rule{
			rule("a", "customer", []string{"updated"}, "", "d1", "d2"),
			rule("b", "customer", nil, "", "d2"),
			rule("c", "customer", []string{"updated"}, `event.data.status == "active"`, "d2", "d1"),
			rule("d", "customer", []string{"created"}, "", "d1"),
			rule("e", "order", nil, "", "d1"),
			rule("f", "customer", nil, `false`, "d1"),
		}, ev("customer", "updated", cust), []string{"a/d1", "a/d2", "b/d2", "c/d2", "c/d1"}, 0},
		{"any-action rules on an unlisted action", []config.Rule{
			rule("a", "customer", []string{"updated"}, "", "d1"),
			rule("b", "customer", nil, "", "d2"),
		}, ev("customer", "archived", cust), []string{"b/d2"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var condErrs atomic.Int64
			ix, err := New(tt.rules, defs, OnConditionError(func(ruleID string, err error) {
				t.Logf("condition of %s: %v", ruleID, err)
				condErrs.Add(1)
			}))
			if err != nil {
				t.Fatal(err)
			}
			ms, err := ix.Match(tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if got := names(ms); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Match = %v, want %v", got, tt.want)
			}
			if got := int(condErrs.Load()); got != tt.condErrs {
				t.Errorf("condition errors = %d, want %d", got, tt.condErrs)
			}
		})
	}
}

func names(ms []Match) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Rule.ID+"/"+m.Definition.ID)
	}
	return out
}

func TestMatchSharesRuleAndDefinition(t *testing.T) {
	ix, err := New([]config.Rule{rule("r", "customer", nil, "", "d1", "d2")}, defs)
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := ix.Match(ev("customer", "updated", `{}`))
	if len(ms) != 2 || ms[0].Rule != ms[1].Rule {
		t.Fatalf("matches = %v", ms)
	}
	d, ok := ix.Definition("d1")
	if !ok || d != ms[0].Definition {
		t.Errorf("Definition(d1) = %p, %v; want the matched %p", d, ok, ms[0].Definition)
	}
	if d, ok := ix.Definition("off"); !ok || d.Active {
		t.Errorf("Definition(off) = %+v, %v; want the inactive definition", d, ok)
	}
	if _, ok := ix.Definition("nope"); ok {
		t.Error("Definition(nope) found")
	}
}

// The Index copies what it keeps: changing the caller's slices afterwards changes nothing.
func TestNewCopies(t *testing.T) {
	rs := []config.Rule{rule("r", "customer", []string{"updated"}, "", "d1")}
	ds := []config.Definition{def("d1", true)}
	ds[0].Headers = map[string]string{"X-A": "1"}
	ix, err := New(rs, ds)
	if err != nil {
		t.Fatal(err)
	}
	rs[0].Actions[0], rs[0].Active, rs[0].WebhookDefinitions[0] = "created", false, "x"
	ds[0].Active, ds[0].Headers["X-A"] = false, "2"
	ms, _ := ix.Match(ev("customer", "updated", `{}`))
	if got := names(ms); !reflect.DeepEqual(got, []string{"r/d1"}) || ms[0].Definition.Headers["X-A"] != "1" {
		t.Errorf("Match after the caller's changes = %v %+v", got, ms)
	}
}

func TestNewRefusesBadConditions(t *testing.T) {
	_, err := New([]config.Rule{
		rule("ok", "customer", nil, "true", "d1"),
		rule("bad-1", "customer", nil, "1 +", "d1"),
		rule("bad-2", "customer", nil, "1", "d1"),
		inactive(rule("bad-off", "customer", nil, "1", "d1")), // not kept, not compiled
	}, defs)
	var ce *config.ConditionError
	if err == nil || !errors.As(err, &ce) || !strings.Contains(err.Error(), `rule "bad-1": condition does not compile`) ||
		!strings.Contains(err.Error(), `rule "bad-2": condition must evaluate to a bool, got int`) || strings.Contains(err.Error(), "bad-off") {
		t.Fatalf("New = %v", err)
	}
}

func TestMatchBadEvents(t *testing.T) {
	ix, err := New([]config.Rule{rule("r", "customer", nil, `event.data.x == 1`, "d1")}, defs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Match(nil); !event.IsInvalid(err) {
		t.Errorf("Match(nil) = %v, want an invalid event error", err)
	}
	for _, data := range []string{``, `[]`, `null`, `{"x":`} {
		if _, err := ix.Match(ev("customer", "updated", data)); !event.IsInvalid(err) || !strings.Contains(err.Error(), `match event "ev-1"`) {
			t.Errorf("Match(data %q) = %v, want an invalid event error", data, err)
		}
	}
	// Without a condition the data is not read at all.
	ix, _ = New([]config.Rule{rule("r", "customer", nil, "", "d1")}, defs)
	if ms, err := ix.Match(ev("customer", "updated", `not json`)); err != nil || len(ms) != 1 {
		t.Errorf("Match without conditions = %v, %v", ms, err)
	}
}

func TestLen(t *testing.T) {
	ix, err := New([]config.Rule{
		rule("a", "customer", nil, "", "d1"),
		inactive(rule("b", "customer", nil, "", "d1")),
		rule("c", "customer", nil, "", "off"),
	}, defs)
	if err != nil || ix.Len() != 1 {
		t.Fatalf("Len = %d, %v; want 1", ix.Len(), err)
	}
	empty, err := New(nil, nil)
	if err != nil || empty.Len() != 0 {
		t.Fatalf("New(nil, nil) = %v, %v", empty, err)
	}
	if ms, err := empty.Match(ev("customer", "updated", `{}`)); ms != nil || err != nil {
		t.Errorf("empty Match = %v, %v", ms, err)
	}
}

// Match is safe for concurrent use (run with -race).
func TestMatchConcurrent(t *testing.T) {
	var rs []config.Rule
	for i := range 20 {
		rs = append(rs, rule(fmt.Sprintf("r%d", i), "customer", nil, fmt.Sprintf("event.data.n %% 20 == %d", i), "d1"))
	}
	ix, err := New(rs, defs)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				n := (g*50 + i) % 20
				ms, err := ix.Match(ev("customer", "updated", fmt.Sprintf(`{"n":%d}`, n)))
				if err != nil || len(ms) != 1 || ms[0].Rule.ID != fmt.Sprintf("r%d", n) {
					t.Errorf("n=%d: Match = %v, %v", n, names(ms), err)
					return
				}
			}
		})
	}
	wg.Wait()
}
