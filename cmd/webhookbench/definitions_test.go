package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/config"
)

// The configuration of the definitions phase is what webhookd's own parser and validation take.
func TestDefinitionsYAMLIsValid(t *testing.T) {
	y := definitionsYAML(3, "http://127.0.0.1:1/hooks/webhookd", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	doc, err := config.ParseYAML([]byte(y))
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	if err := doc.Validate(func(string) bool { return false }); err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	if len(doc.WebhookDefinitions) != 3 || len(doc.WorkflowRules) != 3 {
		t.Fatalf("%d definitions, %d rules; want 3 each", len(doc.WebhookDefinitions), len(doc.WorkflowRules))
	}
	for i, r := range doc.WorkflowRules {
		if r.Entity != manyEntity(i) || !reflect.DeepEqual(r.WebhookDefinitions, []string{manyDefinitionID(i)}) {
			t.Errorf("rule %d: entity %q, definitions %v", i, r.Entity, r.WebhookDefinitions)
		}
	}
	for _, setting := range []string{"max_in_flight", "logging", "retry", "timeout", "rate_limit"} {
		if strings.Contains(y, setting) {
			t.Errorf("config sets %s; the benchmark measures the defaults", setting)
		}
	}
}

// The largest count fits webhookd's document limit.
func TestDefinitionsYAMLFitsTheLimit(t *testing.T) {
	y := definitionsYAML(maxDefinitions, "http://127.0.0.1:65535/hooks/webhookd", "whsec_"+strings.Repeat("A", 44))
	if len(y) > config.MaxDocumentSize {
		t.Errorf("%d definitions: %d bytes, webhookd takes at most %d", maxDefinitions, len(y), config.MaxDocumentSize)
	}
}

func TestProbeChangesAreValid(t *testing.T) {
	existing := func(id string) bool { return strings.HasPrefix(id, "bench-") && id != "bench-probe" }
	for _, c := range probeChanges("http://127.0.0.1:1/hooks/webhookd", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 7) {
		b := mustJSON(t, c.doc)
		doc, err := config.ParseJSON(b)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if err := doc.Validate(existing); err != nil {
			t.Errorf("%s: %v\n%s", c.name, err, b)
		}
		if len(doc.WorkflowRules) != 1 || doc.WorkflowRules[0].Entity != c.entity {
			t.Errorf("%s: rules %+v, want one for %s", c.name, doc.WorkflowRules, c.entity)
		}
	}
	if got := probeChanges("u", "s", 7)[0].doc.Rules[0].WebhookDefinitions; !reflect.DeepEqual(got, []string{"bench-7"}) {
		t.Errorf("the new rule sends to %v, want bench-7", got)
	}
}

func TestEventNumber(t *testing.T) {
	if n, ok := eventNumber(eventIDFor("definitions1000-trickle", 42)); !ok || n != 42 {
		t.Errorf("eventNumber = %d, %v; want 42", n, ok)
	}
	for _, bad := range []string{"", "evt-1", "wb-burst-x"} {
		if _, ok := eventNumber(bad); ok {
			t.Errorf("eventNumber(%q): ok", bad)
		}
	}
}

func TestCountWarnings(t *testing.T) {
	log := `{"time":"t1","level":"INFO","msg":"webhookd started"}
{"time":"t2","level":"ERROR","msg":"bind delivery consumer","webhook_definition":"bench-1","error":"maximum consumers limit reached"}
{"time":"t3","level":"WARN","msg":"--allow-private-networks is on: deliveries may reach loopback"}
not JSON: goroutine 1 [running]
{"time":"t4","level":"ERROR","msg":"bind delivery consumer","webhook_definition":"bench-2"}
{"time":"t5","level":"WARN","msg":"list delivery consumers","error":"timeout"}
`
	got, err := countWarnings(strings.NewReader(log))
	if err != nil {
		t.Fatal(err)
	}
	want := []logCount{
		{Level: "ERROR", Msg: "bind delivery consumer", Count: 2, Example: strings.Split(log, "\n")[1]},
		{Level: "WARN", Msg: "list delivery consumers", Count: 1, Example: strings.Split(log, "\n")[5]},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("countWarnings =\n%+v\nwant\n%+v", got, want)
	}
	long := `{"level":"ERROR","msg":"m","error":"` + strings.Repeat("x", 2*maxExample) + `"}`
	if got, _ := countWarnings(strings.NewReader(long)); len(got) != 1 || len(got[0].Example) > maxExample+len("…") {
		t.Errorf("a long line is not cut: %d bytes", len(got[0].Example))
	}
}

func TestMissedTargets(t *testing.T) {
	good := DefinitionsRun{
		Definitions: 1000, DeliveryConsumers: 0, ReadySeconds: 3, IdleSeconds: 15, IdleCPUPercent: 2, RSSMiB: 150, PeakRSSMiB: 200, TrickleEvents: 1000,
		Trickle:       &Phase{EventsPerSec: 100},
		ConfigChanges: []ConfigChange{{SeenMS: 40}, {SeenMS: 900}},
	}
	if m := missedTargets(good); len(m) != 0 {
		t.Errorf("missedTargets(good) = %v", m)
	}
	bad := good
	bad.Trickle, bad.TrickleEvents, bad.ReadySeconds, bad.IdleCPUPercent, bad.PeakRSSMiB = nil, 1000, 11, 6, 251
	bad.ConfigChanges = []ConfigChange{{SeenMS: 40}, {SeenMS: -1}}
	want := []string{"not every definition delivers", "ready", "idle CPU", "RSS", "config change"}
	if m := missedTargets(bad); !reflect.DeepEqual(m, want) {
		t.Errorf("missedTargets(bad) = %v, want %v", m, want)
	}
	failed := DefinitionsRun{Definitions: 5000, Error: "not ready"}
	if m := missedTargets(failed); !reflect.DeepEqual(m, []string{"run failed"}) {
		t.Errorf("missedTargets(failed) = %v, want only run failed", m)
	}
	failed.ReadySeconds, failed.IdleSeconds, failed.IdleCPUPercent = 4, 15, 9
	if m := missedTargets(failed); !reflect.DeepEqual(m, []string{"run failed", "idle CPU"}) {
		t.Errorf("missedTargets(failed after the idle window) = %v, want run failed, idle CPU", m)
	}
	if m := missedTargets(DefinitionsRun{Definitions: 10}); len(m) != 5 {
		t.Errorf("missedTargets of a run that measured nothing and did not fail = %v, want all 5", m)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
