package main

import (
	"testing"

	"github.com/webhookd/webhookd/event"
)

func TestMakeMessages(t *testing.T) {
	msgs, err := makeMessages("burst", 50, 600)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		if len(m.body) != 600 {
			t.Errorf("event %s: %d bytes, want 600", m.id, len(m.body))
		}
		ev, err := event.Parse(event.Subject(entity, action), m.body)
		if err != nil {
			t.Fatalf("event %s is not valid: %v", m.id, err)
		}
		if ev.ID != m.id || phaseOf(ev.ID) != "burst" || seen[ev.ID] {
			t.Errorf("event id %q (message %q)", ev.ID, m.id)
		}
		seen[ev.ID] = true
	}
	// A size below the envelope is no error: the body is as small as it gets.
	small, err := makeMessages("s", 1, 200)
	if err != nil || len(small[0].body) < 200 {
		t.Errorf("200-byte event: %v, %d bytes", err, len(small[0].body))
	}
}

func TestMakeEntityMessages(t *testing.T) {
	msgs, err := makeEntityMessages("trickle", 4, 300, func(i int) string { return []string{"customer", "bench_1"}[i%2] })
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		want := []string{"customer", "bench_1"}[i%2]
		ev, err := event.Parse(event.Subject(m.entity, action), m.body)
		if err != nil || m.entity != want || ev.Entity != want {
			t.Errorf("event %d: entity %q, parsed %+v, %v; want entity %s", i, m.entity, ev, err, want)
		}
	}
}
