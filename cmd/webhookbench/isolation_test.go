package main

import (
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/config"
)

func msgs(prefix string, n int) []*message {
	out := make([]*message, n)
	for i := range out {
		out[i] = &message{id: eventIDFor(prefix, i)}
	}
	return out
}

func TestInterleave(t *testing.T) {
	got := interleave(msgs("m", 20), msgs("a", 2), msgs("b", 3))
	var ids []string
	for _, m := range got {
		ids = append(ids, strings.TrimPrefix(m.id, "wb-"))
	}
	// Each list keeps its order; the others are spread evenly: a after every 10 of m, b after
	// every 6.67.
	want := []string{"m-0000000", "m-0000001", "m-0000002", "m-0000003", "m-0000004", "m-0000005", "m-0000006", "b-0000000",
		"m-0000007", "m-0000008", "m-0000009", "a-0000000", "m-0000010", "m-0000011", "m-0000012", "m-0000013", "b-0000001",
		"m-0000014", "m-0000015", "m-0000016", "m-0000017", "m-0000018", "m-0000019", "a-0000001", "b-0000002"}
	if strings.Join(ids, " ") != strings.Join(want, " ") {
		t.Errorf("interleave =\n%v\nwant\n%v", ids, want)
	}
	if got := interleave(nil, msgs("a", 2)); len(got) != 2 {
		t.Errorf("interleave(nil, a) has %d messages, want 2", len(got))
	}
}

func TestIsolationDocumentIsValid(t *testing.T) {
	rc := &receiverProc{baseURL: "http://127.0.0.1:1"}
	b := mustJSON(t, isolationDocument(rc, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 2*time.Second))
	doc, err := config.ParseJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(func(string) bool { return false }); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	defs := map[string]*config.Definition{}
	for i := range doc.WebhookDefinitions {
		defs[doc.WebhookDefinitions[i].ID] = &doc.WebhookDefinitions[i]
	}
	if d := defs[failingDefinition]; d == nil || !strings.HasSuffix(d.URL, failingPath) || d.Timeout.D() != config.DefaultTimeout {
		t.Errorf("failing definition %+v", d)
	}
	if d := defs[hangingDefinition]; d == nil || !strings.HasSuffix(d.URL, hangingPath) || d.Timeout.D() != 2*time.Second {
		t.Errorf("hanging definition %+v", d)
	}
	for _, d := range doc.WebhookDefinitions {
		if d.Retry.MaxAttempts != config.DefaultMaxAttempts || d.MaxInFlight != config.DefaultMaxInFlight {
			t.Errorf("%s: retry %+v, max_in_flight %d; want the defaults", d.ID, d.Retry, d.MaxInFlight)
		}
	}
	entities := map[string]bool{entity: true}
	for _, r := range doc.WorkflowRules {
		if entities[r.Entity] || len(r.WebhookDefinitions) != 1 {
			t.Errorf("rule %s: entity %s shared, or definitions %v", r.ID, r.Entity, r.WebhookDefinitions)
		}
		entities[r.Entity] = true
	}
}
