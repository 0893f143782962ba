package controltest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/webhookd/webhookd/control"
	"github.com/webhookd/webhookd/internal/testutil"
)

// checkEnvelope asserts the exact shape of an error reply and returns its code.
func checkEnvelope(t *testing.T, raw []byte) string {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatalf("reply is not a JSON object: %s", raw)
	}
	if string(top["ok"]) != "false" || len(top) != 2 || top["error"] == nil {
		t.Fatalf("error reply = %s, want exactly {\"ok\":false,\"error\":{...}}", raw)
	}
	var e map[string]any
	if err := json.Unmarshal(top["error"], &e); err != nil || len(e) != 2 {
		t.Fatalf("error = %s, want exactly {code, message}", top["error"])
	}
	code, _ := e["code"].(string)
	msg, _ := e["message"].(string)
	if code == "" || msg == "" {
		t.Fatalf("error = %s, want a code and a message", top["error"])
	}
	return code
}

func testErrorCodesAndOrder(t *testing.T, st Store) {
	e := newEnv(t, st)
	big := `{"number":"` + strings.Repeat("x", control.MaxBody) + `"}`
	cases := []struct {
		name, cmd, body, code string
	}{
		{"unknown command", "requests.frobnicate", `{}`, control.CodeUnknownCommand},
		{"unknown command before bad body", "nope", ``, control.CodeUnknownCommand},
		{"empty body", control.CmdRequestsList, ``, control.CodeBadRequest},
		{"blank body", control.CmdDefinitionsList, "  \n", control.CodeBadRequest},
		{"array", control.CmdRequestsList, `[]`, control.CodeBadRequest},
		{"string", control.CmdRulesList, `"x"`, control.CodeBadRequest},
		{"null", control.CmdRequestsList, `null`, control.CodeBadRequest},
		{"broken JSON", control.CmdRequestsList, `{"limit":`, control.CodeBadRequest},
		{"trailing data", control.CmdRequestsList, `{} {}`, control.CodeBadRequest},
		{"too large", control.CmdRequestsGet, big, control.CodeBadRequest},
		{"limit wrong type", control.CmdRequestsList, `{"limit":"10"}`, control.CodeBadRequest},
		{"limit fraction", control.CmdRequestsList, `{"limit":1.5}`, control.CodeBadRequest},
		{"limit zero", control.CmdRequestsList, `{"limit":0}`, control.CodeBadRequest},
		{"limit too big", control.CmdRequestsList, `{"limit":1001}`, control.CodeBadRequest},
		{"filter wrong type", control.CmdRequestsList, `{"filter":"rejected"}`, control.CodeBadRequest},
		{"filter field wrong type", control.CmdRequestsList, `{"filter":{"entity":1}}`, control.CodeBadRequest},
		{"bad state", control.CmdRequestsList, `{"filter":{"state":"failed"}}`, control.CodeBadRequest},
		{"bad created_from", control.CmdRequestsList, `{"filter":{"created_from":"yesterday"}}`, control.CodeBadRequest},
		{"bad created_to", control.CmdRequestsList, `{"filter":{"created_to":"2025-13-01T00:00:00Z"}}`, control.CodeBadRequest},
		{"inverted range", control.CmdRequestsList, `{"filter":{"created_from":"2025-02-01T00:00:00Z","created_to":"2025-01-01T00:00:00Z"}}`, control.CodeBadRequest},
		{"bad cursor", control.CmdRequestsList, `{"after":"not-a-cursor"}`, control.CodeBadRequest},
		{"after wrong type", control.CmdRequestsList, `{"after":5}`, control.CodeBadRequest},
		{"get number wrong type", control.CmdRequestsGet, `{"number":1234}`, control.CodeBadRequest},
		{"get number missing", control.CmdRequestsGet, `{}`, control.CodeBadRequest},
		{"get unknown", control.CmdRequestsGet, `{"number":"WR-0000999999"}`, control.CodeNotFound},
		{"delete numbers wrong type", control.CmdRequestsDelete, `{"numbers":"WR-0000000001","user":"ann"}`, control.CodeBadRequest},
		{"delete user wrong type", control.CmdRequestsDelete, `{"numbers":["WR-0000000001"],"user":5}`, control.CodeBadRequest},
		{"delete both", control.CmdRequestsDelete, `{"numbers":["WR-0000000001"],"filter":{"entity":"x"},"user":"ann"}`, control.CodeBadRequest},
		{"delete progress wrong type", control.CmdRequestsDelete, `{"filter":{"entity":"x"},"user":"ann","progress":"yes"}`, control.CodeBadRequest},
		{"bad type before user", control.CmdRequestsDelete, `{"numbers":7}`, control.CodeBadRequest},
		{"bad filter value before user", control.CmdRequestsResend, `{"filter":{"state":"nope"}}`, control.CodeBadRequest},
		{"delete no user", control.CmdRequestsDelete, `{"numbers":["WR-0000000001"]}`, control.CodeUserRequired},
		{"delete blank user", control.CmdRequestsDelete, `{"numbers":["WR-0000000001"],"user":"  "}`, control.CodeUserRequired},
		{"user before filter", control.CmdRequestsDelete, `{"filter":{}}`, control.CodeUserRequired},
		{"delete empty filter", control.CmdRequestsDelete, `{"filter":{},"user":"ann"}`, control.CodeFilterRequired},
		{"delete nothing", control.CmdRequestsDelete, `{"user":"ann"}`, control.CodeFilterRequired},
		{"resend no user", control.CmdRequestsResend, `{"numbers":["WR-0000000001"]}`, control.CodeUserRequired},
		{"resend empty filter", control.CmdRequestsResend, `{"filter":{},"user":"ann"}`, control.CodeFilterRequired},
		{"resend successful filter", control.CmdRequestsResend, `{"filter":{"state":"successful"},"user":"ann"}`, control.CodeBadRequest},
		{"resend successful filter before user", control.CmdRequestsResend, `{"filter":{"state":"successful"}}`, control.CodeBadRequest},
		{"apply no user", control.CmdConfigApply, `{"webhook_definitions":[]}`, control.CodeUserRequired},
		{"apply definitions wrong type", control.CmdConfigApply, `{"webhook_definitions":{},"user":"ann"}`, control.CodeBadRequest},
		{"apply field wrong type", control.CmdConfigApply, `{"webhook_definitions":[{"id":"a","max_in_flight":"many"}],"user":"ann"}`, control.CodeBadRequest},
		{"apply bad type before user", control.CmdConfigApply, `{"workflow_rules":[{"active":"yes"}]}`, control.CodeBadRequest},
		{"apply invalid", control.CmdConfigApply, `{"webhook_definitions":[{"id":"a","name":"A","url":"ftp://x","secret_key":"whsec_x"}],"user":"ann"}`, control.CodeInvalidConfig},
		{"definitions.get no id", control.CmdDefinitionsGet, `{}`, control.CodeBadRequest},
		{"definitions.get id wrong type", control.CmdDefinitionsGet, `{"id":true}`, control.CodeBadRequest},
		{"definitions.get unknown", control.CmdDefinitionsGet, `{"id":"nope"}`, control.CodeNotFound},
		{"definitions.delete no user", control.CmdDefinitionsDelete, `{"id":"nope"}`, control.CodeUserRequired},
		{"definitions.delete unknown", control.CmdDefinitionsDelete, `{"id":"nope","user":"ann"}`, control.CodeNotFound},
		{"rules.get unknown", control.CmdRulesGet, `{"id":"nope"}`, control.CodeNotFound},
		{"rules.delete no user", control.CmdRulesDelete, `{"id":"nope"}`, control.CodeUserRequired},
		{"rules.delete unknown", control.CmdRulesDelete, `{"id":"nope","user":"ann"}`, control.CodeNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkEnvelope(t, e.rawT(t, tc.cmd, tc.body)); got != tc.code {
				t.Errorf("%s %s: code %s, want %s", tc.cmd, trim(tc.body), got, tc.code)
			}
		})
	}
	// Unknown fields are ignored.
	raw := e.raw(control.CmdRequestsList, `{"colour":"blue","filter":{"shape":"round"}}`)
	if !bytes.HasPrefix(raw, []byte(`{"ok":true,"result":{`)) {
		t.Errorf("unknown fields: %s", raw)
	}
}

func trim(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

func testMetricsCountCommands(t *testing.T, st Store) {
	e := newEnv(t, st)
	for _, c := range control.Commands {
		for _, res := range []string{"ok", "error"} {
			if got := counter(t, e.metrics.ControlCommands.WithLabelValues(c, res)); got != 0 {
				t.Fatalf("%s/%s starts at %v", c, res, got)
			}
		}
	}
	e.raw(control.CmdDefinitionsList, `{}`)
	e.raw(control.CmdDefinitionsList, ``)
	e.raw("bogus", `{}`)
	testutil.Eventually(t, 20*time.Second, "counters", func() bool {
		return counter(t, e.metrics.ControlCommands.WithLabelValues(control.CmdDefinitionsList, "ok")) == 1 &&
			counter(t, e.metrics.ControlCommands.WithLabelValues(control.CmdDefinitionsList, "error")) == 1 &&
			counter(t, e.metrics.ControlCommands.WithLabelValues("unknown", "error")) == 1
	})
	n, err := seriesCount(e.reg, "webhookd_control_commands_total")
	if err != nil || n != 2*(len(control.Commands)+1) {
		t.Fatalf("series = %d (%v), want %d", n, err, 2*(len(control.Commands)+1))
	}
}

func counter(t testing.TB, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func seriesCount(g prometheus.Gatherer, name string) (int, error) {
	mfs, err := g.Gather()
	if err != nil {
		return 0, err
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return len(mf.GetMetric()), nil
		}
	}
	return 0, nil
}
