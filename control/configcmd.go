package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/storage"
)

func (r *Responder) configApply(ctx context.Context, c *call) (any, *controlapi.Error) {
	// The envelope first: one object whose known top-level fields have the right types.
	var shape struct {
		Definitions []json.RawMessage `json:"webhook_definitions"`
		Rules       []json.RawMessage `json:"workflow_rules"`
		User        string            `json:"user"`
	}
	if e := decode(c.body, &shape); e != nil {
		return nil, e
	}
	c.user = shape.User
	doc, parseErr := config.ParseJSON(c.body)
	if parseErr != nil && isTypeError(parseErr) {
		return nil, errorf(controlapi.CodeBadRequest, "%v", parseErr)
	}
	if e := c.requireUser(shape.User); e != nil {
		return nil, e
	}
	if parseErr != nil {
		// A value the decoder refused (a malformed duration, say): the entry is invalid.
		return nil, errorf(controlapi.CodeInvalidConfig, "%v", parseErr)
	}
	c.auditRequest = auditDocument(doc, c.user)

	defs, err := r.o.Store.ListDefinitions(ctx)
	if err != nil {
		return nil, internal("read webhook definitions", err)
	}
	known := make(map[string]bool, len(defs))
	for _, d := range defs {
		known[d.ID] = true
	}
	if err := doc.Validate(func(id string) bool { return known[id] }); err != nil {
		return nil, errorf(controlapi.CodeInvalidConfig, "%v", err)
	}
	c.auditRequest = auditDocument(doc, c.user) // normalised by Validate
	if err := r.o.Store.ApplyConfig(ctx, doc.WebhookDefinitions, doc.WorkflowRules, c.user, r.o.Now().UTC()); err != nil {
		return nil, internal("apply the configuration", err)
	}
	r.o.OnConfigChange()
	res := controlapi.ApplyResult{WebhookDefinitions: len(doc.WebhookDefinitions), WorkflowRules: len(doc.WorkflowRules)}
	c.summary = fmt.Sprintf("applied %d webhook definitions, %d workflow rules", res.WebhookDefinitions, res.WorkflowRules)
	return res, nil
}

// isTypeError reports whether a config parse error is a JSON value of the wrong type (or not
// JSON at all): BAD_REQUEST rather than INVALID_CONFIG.
func isTypeError(err error) bool {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	return errors.As(err, &te) || errors.As(err, &se)
}

// auditDocument is the config.apply request as the audit keeps it: secrets masked.
func auditDocument(doc *config.Document, user string) string {
	b, err := json.Marshal(controlapi.ApplyRequest{Document: *doc.MaskSecrets(), User: user})
	if err != nil {
		return fmt.Sprintf("<%d webhook definitions, %d workflow rules>", len(doc.WebhookDefinitions), len(doc.WorkflowRules))
	}
	return string(b)
}

func (r *Responder) definitionsList(ctx context.Context, c *call) (any, *controlapi.Error) {
	var req struct{}
	if e := decode(c.body, &req); e != nil {
		return nil, e
	}
	defs, err := r.o.Store.ListDefinitions(ctx)
	if err != nil {
		return nil, internal("list webhook definitions", err)
	}
	items := make([]config.Definition, len(defs))
	for i, d := range defs {
		items[i] = d.MaskSecrets()
	}
	return controlapi.ItemsResult[config.Definition]{Items: items}, nil
}

// decodeID reads {"id":...} (and "user" for deletes), checking in the contract's order.
func decodeID(c *call, mutating bool) (string, *controlapi.Error) {
	var req controlapi.IDRequest
	if e := decode(c.body, &req); e != nil {
		return "", e
	}
	c.user = req.User
	if req.ID == "" {
		return "", errorf(controlapi.CodeBadRequest, `field "id" is required`)
	}
	if !mutating {
		return req.ID, nil
	}
	if e := c.requireUser(req.User); e != nil {
		return "", e
	}
	return req.ID, nil
}

func (r *Responder) definitionsGet(ctx context.Context, c *call) (any, *controlapi.Error) {
	id, e := decodeID(c, false)
	if e != nil {
		return nil, e
	}
	d, err := r.o.Store.GetDefinition(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errorf(controlapi.CodeNotFound, "webhook definition %q does not exist", id)
	}
	if err != nil {
		return nil, internal(fmt.Sprintf("get webhook definition %q", id), err)
	}
	return controlapi.ItemResult[config.Definition]{Item: d.MaskSecrets()}, nil
}

func (r *Responder) definitionsDelete(ctx context.Context, c *call) (any, *controlapi.Error) {
	id, e := decodeID(c, true)
	if e != nil {
		return nil, e
	}
	err := r.o.Store.DeleteDefinition(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, errorf(controlapi.CodeNotFound, "webhook definition %q does not exist", id)
	case errors.Is(err, storage.ErrDefinitionInUse):
		return nil, errorf(controlapi.CodeDefinitionInUse, "webhook definition %q is named by a workflow rule; remove it from the rules first (%v)", id, err)
	case err != nil:
		return nil, internal(fmt.Sprintf("delete webhook definition %q", id), err)
	}
	r.o.OnConfigChange()
	c.summary = fmt.Sprintf("deleted webhook definition %q", id)
	return controlapi.DeletedResult{Deleted: 1}, nil
}

func (r *Responder) rulesList(ctx context.Context, c *call) (any, *controlapi.Error) {
	var req struct{}
	if e := decode(c.body, &req); e != nil {
		return nil, e
	}
	rules, err := r.o.Store.ListRules(ctx)
	if err != nil {
		return nil, internal("list workflow rules", err)
	}
	if rules == nil {
		rules = []config.Rule{}
	}
	for i := range rules {
		rules[i] = ruleReply(rules[i])
	}
	return controlapi.ItemsResult[config.Rule]{Items: rules}, nil
}

// ruleReply is a rule as replies show it: "actions" is always an array, [] for any action, as
// section 4 writes it, never null (the stores give back nil for a rule applied without actions).
func ruleReply(r config.Rule) config.Rule {
	if r.Actions == nil {
		r.Actions = []string{}
	}
	return r
}

func (r *Responder) rulesGet(ctx context.Context, c *call) (any, *controlapi.Error) {
	id, e := decodeID(c, false)
	if e != nil {
		return nil, e
	}
	rule, err := r.o.Store.GetRule(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errorf(controlapi.CodeNotFound, "workflow rule %q does not exist", id)
	}
	if err != nil {
		return nil, internal(fmt.Sprintf("get workflow rule %q", id), err)
	}
	reply := ruleReply(*rule)
	return controlapi.ItemResult[*config.Rule]{Item: &reply}, nil
}

func (r *Responder) rulesDelete(ctx context.Context, c *call) (any, *controlapi.Error) {
	id, e := decodeID(c, true)
	if e != nil {
		return nil, e
	}
	err := r.o.Store.DeleteRule(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, errorf(controlapi.CodeNotFound, "workflow rule %q does not exist", id)
	case err != nil:
		return nil, internal(fmt.Sprintf("delete workflow rule %q", id), err)
	}
	r.o.OnConfigChange()
	c.summary = fmt.Sprintf("deleted workflow rule %q", id)
	return controlapi.DeletedResult{Deleted: 1}, nil
}
