package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/cel-go/common/types"
)

func TestCompileCondition(t *testing.T) {
	ok := []string{
		`event.data.status == "active" && "status" in event.changed`,
		`event.entity == "customer" || event.action.startsWith("up")`,
		`has(event.data.address) && event.data.address.city == "Paphos"`,
		`event.data.?status.orValue("") == "active"`,
		`event["data"]["status"] == "active"`,
		`event.data.enabled`, // dyn: accepted, false at run time unless a bool
		`event.data.amount > 100 && event.data.amount < 1000.5`,
		`event.actor.lowerAscii() == "jdoe"`,
		`event.changed.exists(f, f.startsWith("address"))`,
		`[1, 2].exists(event, event == 2)`, // a shadowing variable is not checked against EventFields
		`event.data.email.matches("^[a-z]+@example\\.com$")`,
		`true`,
	}
	for _, expr := range ok {
		if _, err := CompileCondition(expr); err != nil {
			t.Errorf("CompileCondition(%q) = %v", expr, err)
		}
	}
	bad := []struct{ expr, want string }{
		{``, "condition is empty"},
		{`event.data.status ==`, "condition does not compile: 1:"},
		{`nope == 1`, "undeclared reference to 'nope'"},
		{`event.data.status == "a" + 1`, "no matching overload"},
		{`1`, "must evaluate to a bool, got int"},
		{`event.changed.size()`, "must evaluate to a bool, got int"},
		{`event.?data`, "must evaluate to a bool, got optional_type"},
		{`event.dat.status == "x"`, "refers to event.dat, which events do not have (they have id, entity, entity_id, action, occurred_at, actor, changed, data)"},
		{`has(event.changes)`, "refers to event.changes"},
		{`event["entityid"] == "x"`, "refers to event.entityid"},
		{strings.Repeat("(", 200) + "true" + strings.Repeat(")", 200), "does not compile"},
		{strings.Repeat("a", 4097), "is 4097 characters long, at most 4096 are allowed"},
	}
	for _, tt := range bad {
		_, err := CompileCondition(tt.expr)
		var ce *ConditionError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CompileCondition(%.40q) = %v, want a *ConditionError containing %q", tt.expr, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("CompileCondition(%.40q): error spans lines: %q", tt.expr, err)
		}
	}
}

// A pathological condition stops at the cost limit instead of burning CPU.
func TestConditionCostLimit(t *testing.T) {
	prg, err := CompileCondition(`event.data.items.all(x, event.data.items.all(y, event.data.items.all(z, x + y + z >= 0)))`)
	if err != nil {
		t.Fatal(err)
	}
	items := make([]any, 1000)
	for i := range items {
		items[i] = int64(i)
	}
	start := time.Now()
	_, _, err = prg.Eval(map[string]any{"event": map[string]any{"data": map[string]any{"items": items}}})
	if err == nil || !strings.Contains(err.Error(), "cost limit exceeded") {
		t.Fatalf("Eval = %v, want the cost limit exceeded", err)
	}
	t.Logf("stopped at the cost limit after %s", time.Since(start)) // informative only, not asserted

	// The same condition over a few items is fine.
	out, _, err := prg.Eval(map[string]any{"event": map[string]any{"data": map[string]any{"items": items[:10]}}})
	if err != nil || out != types.True {
		t.Fatalf("Eval = %v, %v; want true", out, err)
	}
}
