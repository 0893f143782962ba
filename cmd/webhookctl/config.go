package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/control/controlapi"
)

type applyCmd struct {
	File string `name:"file" short:"f" required:"" type:"path" predictor:"yaml" help:"YAML file of webhook_definitions and workflow_rules (docs/configuration.md); - reads stdin."`
}

func (c *applyCmd) Help() string {
	return `The file is checked here first, strictly (an unknown key is an error naming its line), then
webhookd validates it against what is stored and applies all of it or none of it.

Example:

    webhookctl apply -f webhooks.yaml`
}

func (c *applyCmd) Run(a *app) error {
	var b []byte
	var err error
	if c.File == "-" {
		b, err = readAllLimited(os.Stdin, config.MaxDocumentSize)
	} else {
		b, err = readFileLimited(c.File, config.MaxDocumentSize)
	}
	if err != nil {
		return usagef("read %s: %w", c.File, err)
	}
	doc, err := config.ParseYAML(b)
	if err != nil {
		return usagef("%s: %w", c.File, err)
	}
	req := controlapi.ApplyRequest{Document: *doc, User: a.user()}
	var res controlapi.ApplyResult
	raw, err := a.call(controlapi.CmdConfigApply, req, &res, nil)
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.stdout, raw)
	}
	fmt.Fprintf(a.stdout, "Applied %d webhook definition%s and %d workflow rule%s.\n",
		res.WebhookDefinitions, plural(res.WebhookDefinitions), res.WorkflowRules, plural(res.WorkflowRules))
	return nil
}

type definitionsCmd struct {
	List   definitionsListCmd   `cmd:"" aliases:"ls" help:"List webhook definitions (secrets masked)."`
	Get    definitionsGetCmd    `cmd:"" help:"Show a webhook definition as YAML (secrets masked)."`
	Delete definitionsDeleteCmd `cmd:"" aliases:"rm" help:"Delete a webhook definition that no workflow rule names."`
}

type definitionsListCmd struct{}

func (c *definitionsListCmd) Run(a *app) error {
	var res controlapi.ItemsResult[config.Definition]
	raw, err := a.call(controlapi.CmdDefinitionsList, struct{}{}, &res, nil)
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.stdout, raw)
	}
	if len(res.Items) == 0 {
		fmt.Fprintln(a.stderr, "No webhook definitions.")
		return nil
	}
	tw := newTable(a.stdout, "ID", "NAME", "METHOD", "URL", "LOGGING", "ACTIVE", "UPDATED")
	for _, d := range res.Items {
		active := strconv.FormatBool(d.Active)
		if !d.Active && d.DisabledReason != "" {
			active = "false (" + clip(d.DisabledReason, 40) + ")"
		}
		row(tw, d.ID, clip(d.Name, 40), d.Method, clip(d.URL, 60), d.Logging, active, when(d.UpdatedAt)+byWhom(d.UpdatedBy))
	}
	return tw.Flush()
}

func byWhom(u string) string {
	if u == "" {
		return ""
	}
	return " by " + u
}

type definitionsGetCmd struct {
	ID string `arg:"" help:"Definition id."`
}

func (c *definitionsGetCmd) Run(a *app) error {
	var res controlapi.ItemResult[config.Definition]
	raw, err := a.call(controlapi.CmdDefinitionsGet, controlapi.IDRequest{ID: c.ID}, &res, nil)
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.stdout, raw)
	}
	if d := res.Item; d.PreviousSecretKey != "" && d.PreviousSecretUntil != nil {
		// A secret rotation is not part of a document: said in a comment.
		fmt.Fprintf(a.stdout, "# previous secret key %s signs too until %s\n", d.PreviousSecretKey, when(*d.PreviousSecretUntil))
	}
	return writeYAML(a, map[string]any{"webhook_definitions": []config.Definition{res.Item}},
		res.Item.UpdatedAt, res.Item.UpdatedBy)
}

// writeYAML prints an entry in the form of section 4, so it can be edited and applied back
// (with the real secret put back in place of the masked one).
func writeYAML(a *app, v any, updatedAt time.Time, updatedBy string) error {
	if !updatedAt.IsZero() {
		fmt.Fprintf(a.stdout, "# updated %s%s\n", when(updatedAt), byWhom(updatedBy))
	}
	enc := yaml.NewEncoder(a.stdout)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode YAML: %w", err)
	}
	return enc.Close()
}

type definitionsDeleteCmd struct {
	ID string `arg:"" help:"Definition id."`
}

func (c *definitionsDeleteCmd) Run(a *app) error {
	return deleteByID(a, controlapi.CmdDefinitionsDelete, "webhook definition", c.ID)
}

// deleteByID runs definitions.delete or rules.delete.
func deleteByID(a *app, command, what, id string) error {
	raw, err := a.call(command, controlapi.IDRequest{ID: id, User: a.user()}, nil, nil)
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.stdout, raw)
	}
	fmt.Fprintf(a.stdout, "Deleted %s %s.\n", what, id)
	return nil
}

type rulesCmd struct {
	List   rulesListCmd   `cmd:"" aliases:"ls" help:"List workflow rules."`
	Get    rulesGetCmd    `cmd:"" help:"Show a workflow rule as YAML."`
	Delete rulesDeleteCmd `cmd:"" aliases:"rm" help:"Delete a workflow rule."`
}

type rulesListCmd struct{}

func (c *rulesListCmd) Run(a *app) error {
	var res controlapi.ItemsResult[config.Rule]
	raw, err := a.call(controlapi.CmdRulesList, struct{}{}, &res, nil)
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.stdout, raw)
	}
	if len(res.Items) == 0 {
		fmt.Fprintln(a.stderr, "No workflow rules.")
		return nil
	}
	tw := newTable(a.stdout, "ID", "NAME", "ENTITY", "ACTIONS", "DEFINITIONS", "ACTIVE", "CONDITION")
	for _, r := range res.Items {
		actions := strings.Join(r.Actions, ",")
		if actions == "" {
			actions = "(any)"
		}
		row(tw, r.ID, clip(r.Name, 40), r.Entity, actions, strings.Join(r.WebhookDefinitions, ","),
			strconv.FormatBool(r.Active), clip(r.Condition, 60))
	}
	return tw.Flush()
}

type rulesGetCmd struct {
	ID string `arg:"" help:"Rule id."`
}

func (c *rulesGetCmd) Run(a *app) error {
	var res controlapi.ItemResult[config.Rule]
	raw, err := a.call(controlapi.CmdRulesGet, controlapi.IDRequest{ID: c.ID}, &res, nil)
	if err != nil {
		return err
	}
	if a.json() {
		return writeJSON(a.stdout, raw)
	}
	return writeYAML(a, map[string]any{"workflow_rules": []config.Rule{res.Item}},
		res.Item.UpdatedAt, res.Item.UpdatedBy)
}

type rulesDeleteCmd struct {
	ID string `arg:"" help:"Rule id."`
}

func (c *rulesDeleteCmd) Run(a *app) error {
	return deleteByID(a, controlapi.CmdRulesDelete, "workflow rule", c.ID)
}
