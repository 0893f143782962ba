package controltest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/control"
	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/storage"
)

const sampleDoc = `{
  "user": "ann",
  "webhook_definitions": [{
    "id": "erp-sync", "name": "ERP customer sync", "url": "https://erp.example.com/hooks/crm",
    "secret_key": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "headers": {"X-Api-Version": "2", "Authorization": "Bearer sup3r-s3cret-t0ken-value"},
    "fields_set": {"name": "customer-basic", "fields": ["name", "email"]},
    "timeout": "5s", "retry": {"max_attempts": 3, "initial_interval": "2s", "max_interval": "1m", "multiplier": 3}
  }],
  "workflow_rules": [{
    "id": "customer-activated", "name": "Customer activated", "entity": "customer",
    "actions": ["created", "updated"], "condition": "event.data.status == \"active\"",
    "webhook_definitions": ["erp-sync"]
  }]
}`

func testConfigCommands(t *testing.T, st Store) {
	e := newEnv(t, st)
	var applied controlapi.ApplyResult
	e.do(controlapi.CmdConfigApply, json.RawMessage(sampleDoc), &applied)
	if applied != (controlapi.ApplyResult{WebhookDefinitions: 1, WorkflowRules: 1}) {
		t.Fatalf("apply = %+v", applied)
	}
	if e.nudges.Load() != 1 {
		t.Errorf("config change not announced: %d", e.nudges.Load())
	}

	// Secrets are masked in every reply.
	for _, raw := range [][]byte{e.raw(controlapi.CmdDefinitionsList, `{}`), e.raw(controlapi.CmdDefinitionsGet, `{"id":"erp-sync"}`)} {
		if strings.Contains(string(raw), "MfKQ9r8GKYqrTwjUPD8ILPZIo2") || strings.Contains(string(raw), "sup3r-s3cret") {
			t.Fatalf("a secret in a reply: %s", raw)
		}
	}
	var defs controlapi.ItemsResult[config.Definition]
	e.do(controlapi.CmdDefinitionsList, map[string]any{}, &defs)
	if len(defs.Items) != 1 {
		t.Fatalf("definitions = %+v", defs)
	}
	d := defs.Items[0]
	if d.SecretKey != "whsec_…LaSw" || d.Headers["X-Api-Version"] != "2" || d.Timeout.D().String() != "5s" ||
		d.Retry.MaxAttempts != 3 || d.UpdatedBy != "ann" || !d.Active || d.Logging != config.LoggingAll {
		t.Errorf("definition = %+v", d)
	}
	var def controlapi.ItemResult[config.Definition]
	e.do(controlapi.CmdDefinitionsGet, map[string]string{"id": "erp-sync"}, &def)
	if def.Item.ID != "erp-sync" || def.Item.SecretKey != "whsec_…LaSw" {
		t.Errorf("definitions.get = %+v", def.Item)
	}
	// Durations are strings in the YAML form.
	if raw := string(e.raw(controlapi.CmdDefinitionsGet, `{"id":"erp-sync"}`)); !strings.Contains(raw, `"timeout":"5s"`) {
		t.Errorf("durations: %s", raw)
	}
	var rules controlapi.ItemsResult[config.Rule]
	e.do(controlapi.CmdRulesList, map[string]any{}, &rules)
	if len(rules.Items) != 1 || rules.Items[0].Condition != `event.data.status == "active"` {
		t.Fatalf("rules = %+v", rules)
	}
	var rule controlapi.ItemResult[config.Rule]
	e.do(controlapi.CmdRulesGet, map[string]string{"id": "customer-activated"}, &rule)
	if rule.Item.Entity != "customer" || len(rule.Item.WebhookDefinitions) != 1 {
		t.Errorf("rules.get = %+v", rule.Item)
	}

	// A rule may name a definition that is already stored.
	e.do(controlapi.CmdConfigApply, json.RawMessage(`{"user":"ann","workflow_rules":[{"id":"second","name":"S","entity":"order","webhook_definitions":["erp-sync"]}]}`), &applied)

	// All or nothing: a valid definition next to an invalid rule is not stored.
	ce := e.fail(controlapi.CmdConfigApply, json.RawMessage(`{"user":"ann",
		"webhook_definitions":[{"id":"new-def","name":"N","url":"https://n.example.com","secret_key":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}],
		"workflow_rules":[{"id":"bad","name":"B","entity":"customer","webhook_definitions":["nope"]}]}`))
	if ce.Code != controlapi.CodeInvalidConfig || !strings.Contains(ce.Message, "workflow_rules[0]") || !strings.Contains(ce.Message, "nope") {
		t.Errorf("invalid config = %v", ce)
	}
	if code := e.fail(controlapi.CmdDefinitionsGet, map[string]string{"id": "new-def"}).Code; code != controlapi.CodeNotFound {
		t.Errorf("part of an invalid document was applied: %s", code)
	}
	ce = e.fail(controlapi.CmdConfigApply, json.RawMessage(`{"user":"ann","workflow_rules":[{"id":"cel","name":"C","entity":"customer","condition":"event.data.status ==","webhook_definitions":["erp-sync"]}]}`))
	if ce.Code != controlapi.CodeInvalidConfig || !strings.Contains(ce.Message, "condition") {
		t.Errorf("bad CEL = %v", ce)
	}
	// A masked secret read back from a reply cannot overwrite the real one.
	masked, _ := json.Marshal(map[string]any{"user": "ann", "webhook_definitions": []config.Definition{def.Item}})
	if code := e.fail(controlapi.CmdConfigApply, json.RawMessage(masked)).Code; code != controlapi.CodeInvalidConfig {
		t.Errorf("masked secret applied back: %s", code)
	}

	// Deletes.
	ce = e.fail(controlapi.CmdDefinitionsDelete, map[string]string{"id": "erp-sync", "user": "ann"})
	if ce.Code != controlapi.CodeDefinitionInUse {
		t.Errorf("delete a definition in use = %v", ce)
	}
	var del controlapi.DeletedResult
	e.do(controlapi.CmdRulesDelete, map[string]string{"id": "customer-activated", "user": "ann"}, &del)
	e.do(controlapi.CmdRulesDelete, map[string]string{"id": "second", "user": "ann"}, &del)
	e.do(controlapi.CmdDefinitionsDelete, map[string]string{"id": "erp-sync", "user": "ann"}, &del)
	if del.Deleted != 1 {
		t.Errorf("delete = %+v", del)
	}
	if code := e.fail(controlapi.CmdDefinitionsGet, map[string]string{"id": "erp-sync"}).Code; code != controlapi.CodeNotFound {
		t.Errorf("deleted definition: %s", code)
	}
	if code := e.fail(controlapi.CmdRulesGet, map[string]string{"id": "second"}).Code; code != controlapi.CodeNotFound {
		t.Errorf("deleted rule: %s", code)
	}
	e.do(controlapi.CmdDefinitionsList, map[string]any{}, &defs)
	if raw := string(e.raw(controlapi.CmdRulesList, `{}`)); len(defs.Items) != 0 || !strings.Contains(raw, `"items":[]`) {
		t.Errorf("after deletes: %d definitions, rules %s", len(defs.Items), raw)
	}

	// Every mutating command is audited, secrets masked.
	audit, err := e.store.ListAudit(ctxT(t), 100)
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	for _, a := range audit {
		cmds = append(cmds, a.Command)
		if strings.Contains(a.Request, "MfKQ9r8GKYqrTwjUPD8ILPZIo2") || strings.Contains(a.Request, "sup3r-s3cret") {
			t.Errorf("a secret in the audit: %+v", a)
		}
		if a.User != "ann" || a.At.IsZero() || a.Result == "" {
			t.Errorf("audit entry = %+v", a)
		}
	}
	wantCmds := []string{"definitions.delete", "rules.delete", "rules.delete", "definitions.delete",
		"config.apply", "config.apply", "config.apply", "config.apply", "config.apply"}
	if strings.Join(cmds, ",") != strings.Join(wantCmds, ",") {
		t.Errorf("audited commands = %v, want %v", cmds, wantCmds)
	}
	if audit[3].OK || !strings.HasPrefix(audit[3].Result, string(controlapi.CodeDefinitionInUse)) {
		t.Errorf("refused delete audit = %+v", audit[3])
	}
	if !strings.Contains(audit[len(audit)-1].Request, "erp-sync") || !strings.Contains(audit[len(audit)-1].Request, "whsec_…LaSw") {
		t.Errorf("apply audit request = %s", audit[len(audit)-1].Request)
	}
}

// faultyStore fails or panics where told: a fake of our own interface, around a real store.
type faultyStore struct {
	control.Store
}

func (faultyStore) GetRequest(context.Context, string) (*storage.WebhookRequest, error) {
	panic("boom")
}

func (faultyStore) ListDefinitions(context.Context) ([]config.Definition, error) {
	return nil, errors.New("disk on fire")
}

func testInternalErrorsAndPanics(t *testing.T, st Store) {
	e := newEnv(t, st)
	r2, _, _ := e.startResponder(faultyStore{e.store}, func(o *control.Options) { o.Queue = "faulty" })
	e.resp.Stop(context.Background()) // only the faulty one answers now
	// The responder survives each of them.
	for range 3 {
		ce := e.fail(controlapi.CmdRequestsGet, map[string]string{"number": "WR-0000000001"})
		if ce.Code != controlapi.CodeInternal {
			t.Fatalf("panic = %v", ce)
		}
		ce = e.fail(controlapi.CmdDefinitionsList, map[string]any{})
		if ce.Code != controlapi.CodeInternal || !strings.Contains(ce.Message, "disk on fire") {
			t.Fatalf("store failure = %v", ce)
		}
	}
	var rules controlapi.ItemsResult[config.Rule]
	e.do(controlapi.CmdRulesList, map[string]any{}, &rules)
	r2.Stop(context.Background())
}
