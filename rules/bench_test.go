package rules

import (
	"fmt"
	"testing"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/event"
)

// benchIndex spreads n rules over 100 entities and 10 actions per entity (the tenth "action" being
// no action: any), each naming one of 10 definitions, so that one event meets about n/500 rules.
func benchIndex(b *testing.B, n int, cond string) *Index {
	b.Helper()
	var ds []config.Definition
	for i := range 10 {
		ds = append(ds, def(fmt.Sprintf("d%d", i), true))
	}
	rs := make([]config.Rule, n)
	for i := range rs {
		var actions []string
		if a := (i / 100) % 10; a != 9 {
			actions = []string{fmt.Sprintf("a%d", a)}
		}
		rs[i] = rule(fmt.Sprintf("r%d", i), fmt.Sprintf("e%d", i%100), actions, cond, fmt.Sprintf("d%d", i%10))
	}
	ix, err := New(rs, ds)
	if err != nil {
		b.Fatal(err)
	}
	return ix
}

// benchMatch measures ix.Match(e) and reports how many matches one call finds, so a change in
// cost can be told apart from a change in what the rules select.
func benchMatch(b *testing.B, ix *Index, e *event.Event) {
	b.Helper()
	var ms []Match
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if ms, err = ix.Match(e); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(ms)), "matches/op")
}

func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			ix := benchIndex(b, n, "")
			benchMatch(b, ix, ev("e0", "a0", `{"status":"active"}`))
		})
	}
	// The same 10,000 rules over 100 entities, but one per (entity, action): the event meets one
	// rule, as with 10 rules, and costs the same.
	b.Run("rules=10000/one-match", func(b *testing.B) {
		rs := make([]config.Rule, 10_000)
		for i := range rs {
			rs[i] = rule(fmt.Sprintf("r%d", i), fmt.Sprintf("e%d", i%100), []string{fmt.Sprintf("a%d", i/100)}, "", "d1")
		}
		ix, err := New(rs, defs)
		if err != nil {
			b.Fatal(err)
		}
		benchMatch(b, ix, ev("e0", "a0", `{}`))
	})
	b.Run("rules=10000/no-rule-for-entity", func(b *testing.B) {
		ix := benchIndex(b, 10_000, "")
		e := ev("nobody", "a0", `{}`)
		b.ReportAllocs()
		for b.Loop() {
			_, _ = ix.Match(e)
		}
	})
}

// BenchmarkMatchCondition: one rule with a typical condition, so the event is decoded and the
// condition evaluated on every call.
func BenchmarkMatchCondition(b *testing.B) {
	ix, err := New([]config.Rule{
		rule("r", "customer", []string{"updated"}, `event.data.status == "active" && "status" in event.changed`, "d1"),
	}, defs)
	if err != nil {
		b.Fatal(err)
	}
	e := ev("customer", "updated", `{"name":"Ada","email":"ada@example.com","status":"active","address":{"city":"Paphos","zip":"8000"},"orders":[1,2,3]}`)
	if ms, _ := ix.Match(e); len(ms) != 1 {
		b.Fatalf("matches = %d", len(ms))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ix.Match(e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMatchConditions: 10,000 rules with conditions; the event meets 20 of them and is
// decoded once for all.
func BenchmarkMatchConditions(b *testing.B) {
	ix := benchIndex(b, 10_000, `event.data.status == "active"`)
	benchMatch(b, ix, ev("e0", "a0", `{"status":"active"}`))
}

func BenchmarkNew(b *testing.B) {
	b.Run("rules=10000/one-condition-for-all", func(b *testing.B) {
		for b.Loop() {
			benchIndex(b, 10_000, `event.data.status == "active"`)
		}
	})
}
