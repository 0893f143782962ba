package controltest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/internal/testutil"
)

// checkEnvelope asserts the exact shape of an error reply and returns its code.
func checkEnvelope(t *testing.T, raw []byte) controlapi.Code {
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
	return controlapi.Code(code)
}

func testErrorCodesAndOrder(t *testing.T, st Store) {
	e := newEnv(t, st)
	big := `{"number":"` + strings.Repeat("x", controlapi.MaxBody) + `"}`
	cases := []struct {
		name, cmd, body string
		code            controlapi.Code
	}{
		{"unknown command", "requests.frobnicate", `{}`, controlapi.CodeUnknownCommand},
		{"unknown command before bad body", "nope", ``, controlapi.CodeUnknownCommand},
		{"empty body", controlapi.CmdRequestsList, ``, controlapi.CodeBadRequest},
		{"blank body", controlapi.CmdDefinitionsList, "  \n", controlapi.CodeBadRequest},
		{"array", controlapi.CmdRequestsList, `[]`, controlapi.CodeBadRequest},
		{"string", controlapi.CmdRulesList, `"x"`, controlapi.CodeBadRequest},
		{"null", controlapi.CmdRequestsList, `null`, controlapi.CodeBadRequest},
		{"broken JSON", controlapi.CmdRequestsList, `{"limit":`, controlapi.CodeBadRequest},
		{"trailing data", controlapi.CmdRequestsList, `{} {}`, controlapi.CodeBadRequest},
		{"too large", controlapi.CmdRequestsGet, big, controlapi.CodeBadRequest},
		{"limit wrong type", controlapi.CmdRequestsList, `{"limit":"10"}`, controlapi.CodeBadRequest},
		{"limit fraction", controlapi.CmdRequestsList, `{"limit":1.5}`, controlapi.CodeBadRequest},
		{"limit zero", controlapi.CmdRequestsList, `{"limit":0}`, controlapi.CodeBadRequest},
		{"limit too big", controlapi.CmdRequestsList, `{"limit":1001}`, controlapi.CodeBadRequest},
		{"filter wrong type", controlapi.CmdRequestsList, `{"filter":"rejected"}`, controlapi.CodeBadRequest},
		{"filter field wrong type", controlapi.CmdRequestsList, `{"filter":{"entity":1}}`, controlapi.CodeBadRequest},
		{"bad state", controlapi.CmdRequestsList, `{"filter":{"state":"failed"}}`, controlapi.CodeBadRequest},
		{"bad created_from", controlapi.CmdRequestsList, `{"filter":{"created_from":"yesterday"}}`, controlapi.CodeBadRequest},
		{"bad created_to", controlapi.CmdRequestsList, `{"filter":{"created_to":"2025-13-01T00:00:00Z"}}`, controlapi.CodeBadRequest},
		{"inverted range", controlapi.CmdRequestsList, `{"filter":{"created_from":"2025-02-01T00:00:00Z","created_to":"2025-01-01T00:00:00Z"}}`, controlapi.CodeBadRequest},
		{"bad cursor", controlapi.CmdRequestsList, `{"after":"not-a-cursor"}`, controlapi.CodeBadRequest},
		{"after wrong type", controlapi.CmdRequestsList, `{"after":5}`, controlapi.CodeBadRequest},
		{"get number wrong type", controlapi.CmdRequestsGet, `{"number":1234}`, controlapi.CodeBadRequest},
		{"get number missing", controlapi.CmdRequestsGet, `{}`, controlapi.CodeBadRequest},
		{"get unknown", controlapi.CmdRequestsGet, `{"number":"WR-0000999999"}`, controlapi.CodeNotFound},
		{"delete numbers wrong type", controlapi.CmdRequestsDelete, `{"numbers":"WR-0000000001","user":"ann"}`, controlapi.CodeBadRequest},
		{"delete user wrong type", controlapi.CmdRequestsDelete, `{"numbers":["WR-0000000001"],"user":5}`, controlapi.CodeBadRequest},
		{"delete both", controlapi.CmdRequestsDelete, `{"numbers":["WR-0000000001"],"filter":{"entity":"x"},"user":"ann"}`, controlapi.CodeBadRequest},
		{"delete progress wrong type", controlapi.CmdRequestsDelete, `{"filter":{"entity":"x"},"user":"ann","progress":"yes"}`, controlapi.CodeBadRequest},
		{"bad type before user", controlapi.CmdRequestsDelete, `{"numbers":7}`, controlapi.CodeBadRequest},
		{"bad filter value before user", controlapi.CmdRequestsResend, `{"filter":{"state":"nope"}}`, controlapi.CodeBadRequest},
		{"delete no user", controlapi.CmdRequestsDelete, `{"numbers":["WR-0000000001"]}`, controlapi.CodeUserRequired},
		{"delete blank user", controlapi.CmdRequestsDelete, `{"numbers":["WR-0000000001"],"user":"  "}`, controlapi.CodeUserRequired},
		{"user before filter", controlapi.CmdRequestsDelete, `{"filter":{}}`, controlapi.CodeUserRequired},
		{"delete empty filter", controlapi.CmdRequestsDelete, `{"filter":{},"user":"ann"}`, controlapi.CodeFilterRequired},
		{"delete nothing", controlapi.CmdRequestsDelete, `{"user":"ann"}`, controlapi.CodeFilterRequired},
		{"resend no user", controlapi.CmdRequestsResend, `{"numbers":["WR-0000000001"]}`, controlapi.CodeUserRequired},
		{"resend empty filter", controlapi.CmdRequestsResend, `{"filter":{},"user":"ann"}`, controlapi.CodeFilterRequired},
		{"resend successful filter", controlapi.CmdRequestsResend, `{"filter":{"state":"successful"},"user":"ann"}`, controlapi.CodeBadRequest},
		{"resend successful filter before user", controlapi.CmdRequestsResend, `{"filter":{"state":"successful"}}`, controlapi.CodeBadRequest},
		{"apply no user", controlapi.CmdConfigApply, `{"webhook_definitions":[]}`, controlapi.CodeUserRequired},
		{"apply definitions wrong type", controlapi.CmdConfigApply, `{"webhook_definitions":{},"user":"ann"}`, controlapi.CodeBadRequest},
		{"apply field wrong type", controlapi.CmdConfigApply, `{"webhook_definitions":[{"id":"a","max_in_flight":"many"}],"user":"ann"}`, controlapi.CodeBadRequest},
		{"apply bad type before user", controlapi.CmdConfigApply, `{"workflow_rules":[{"active":"yes"}]}`, controlapi.CodeBadRequest},
		{"apply invalid", controlapi.CmdConfigApply, `{"webhook_definitions":[{"id":"a","name":"A","url":"ftp://x","secret_key":"whsec_x"}],"user":"ann"}`, controlapi.CodeInvalidConfig},
		{"definitions.get no id", controlapi.CmdDefinitionsGet, `{}`, controlapi.CodeBadRequest},
		{"definitions.get id wrong type", controlapi.CmdDefinitionsGet, `{"id":true}`, controlapi.CodeBadRequest},
		{"definitions.get unknown", controlapi.CmdDefinitionsGet, `{"id":"nope"}`, controlapi.CodeNotFound},
		{"definitions.delete no user", controlapi.CmdDefinitionsDelete, `{"id":"nope"}`, controlapi.CodeUserRequired},
		{"definitions.delete unknown", controlapi.CmdDefinitionsDelete, `{"id":"nope","user":"ann"}`, controlapi.CodeNotFound},
		{"rules.get unknown", controlapi.CmdRulesGet, `{"id":"nope"}`, controlapi.CodeNotFound},
		{"rules.delete no user", controlapi.CmdRulesDelete, `{"id":"nope"}`, controlapi.CodeUserRequired},
		{"rules.delete unknown", controlapi.CmdRulesDelete, `{"id":"nope","user":"ann"}`, controlapi.CodeNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkEnvelope(t, e.rawT(t, tc.cmd, tc.body)); got != tc.code {
				t.Errorf("%s %s: code %s, want %s", tc.cmd, trim(tc.body), got, tc.code)
			}
		})
	}
	// Unknown fields are ignored.
	raw := e.raw(controlapi.CmdRequestsList, `{"colour":"blue","filter":{"shape":"round"}}`)
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
	for _, c := range controlapi.Commands {
		for _, res := range []string{"ok", "error"} {
			if got := counter(t, e.metrics.ControlCommands.WithLabelValues(c, res)); got != 0 {
				t.Fatalf("%s/%s starts at %v", c, res, got)
			}
		}
	}
	e.raw(controlapi.CmdDefinitionsList, `{}`)
	e.raw(controlapi.CmdDefinitionsList, ``)
	e.raw("bogus", `{}`)
	testutil.Eventually(t, 20*time.Second, "counters", func() bool {
		return counter(t, e.metrics.ControlCommands.WithLabelValues(controlapi.CmdDefinitionsList, "ok")) == 1 &&
			counter(t, e.metrics.ControlCommands.WithLabelValues(controlapi.CmdDefinitionsList, "error")) == 1 &&
			counter(t, e.metrics.ControlCommands.WithLabelValues("unknown", "error")) == 1
	})
	n, err := seriesCount(e.reg, "webhookd_control_commands_total")
	if err != nil || n != 2*(len(controlapi.Commands)+1) {
		t.Fatalf("series = %d (%v), want %d", n, err, 2*(len(controlapi.Commands)+1))
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
