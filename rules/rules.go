// Package rules matches events to workflow rules (CONTRACT.md section 3): an Index built once per
// configuration finds, for one event, every active rule of its entity and action whose condition
// is true, and the active definitions each fires.
//
// Lookups go by entity, then action, through maps prepared when the Index is built, so the cost
// of Match depends on the rules of the event's entity and action, not on how many rules exist.
// Conditions are compiled once per distinct expression with config.CompileCondition, the very
// function validation uses. An Index is immutable: a new configuration is a new Index, which the
// worker swaps in atomically; Match is safe for concurrent use.
package rules

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/event"
)

// Match is one delivery to make: a rule whose condition holds for the event, and one of its
// active definitions. Both point into the Index and must not be modified.
type Match struct {
	Rule       *config.Rule
	Definition *config.Definition
}

// Option configures an Index.
type Option func(*Index)

// OnConditionError sets a function called, synchronously from Match, whenever a condition fails to
// evaluate (a missing field, a type mismatch, the cost limit): the rule then does not match, as
// the contract requires, and this hook lets the worker count it and log it at debug level.
// It must be safe for concurrent use and quick.
func OnConditionError(f func(ruleID string, err error)) Option {
	return func(ix *Index) { ix.onCondErr = f }
}

// Index is the set of active rules, resolved against their definitions, ready for matching.
type Index struct {
	byEntity  map[string]*entityRules
	defs      map[string]*config.Definition
	rules     int // active rules kept
	onCondErr func(ruleID string, err error)
}

type entityRules struct {
	// byAction holds, for each action some rule lists, the rules that fire on it: those that
	// list it and those that list no action, in configuration order.
	byAction map[string]candidates
	// anyAction holds the rules that list no action, for the actions no rule lists.
	anyAction candidates
}

type candidates struct {
	rules      []*compiled
	conditions bool // some rule has a condition: the event must be decoded
	maxMatches int  // the most matches these rules can make, to size the result once
}

type compiled struct {
	seq  int
	rule *config.Rule
	prg  cel.Program // nil: no condition
	defs []*config.Definition
}

// New builds an Index. It keeps the active rules only, and for each the active definitions it
// names (a name that is not among defs is skipped: the rule may have been saved before its
// definition was deleted); a rule left without any definition can fire nothing and is dropped.
// Rules keep their order, and so do the definitions of a rule, so matches come out in
// configuration order. New copies what it keeps: the caller may reuse rules and defs.
//
// A condition that does not compile fails New, naming every such rule (validation refuses them
// on apply, so this means the store holds something apply would refuse); the caller should keep
// its previous Index.
func New(rules []config.Rule, defs []config.Definition, opts ...Option) (*Index, error) {
	ix := &Index{
		byEntity: make(map[string]*entityRules),
		defs:     make(map[string]*config.Definition, len(defs)),
	}
	for _, o := range opts {
		o(ix)
	}
	for i := range defs {
		d := defs[i].Clone()
		ix.defs[d.ID] = &d
	}

	programs := make(map[string]cel.Program)
	var errs []error
	var kept []*compiled
	for i := range rules {
		if !rules[i].Active {
			continue
		}
		r := rules[i].Clone()
		c := &compiled{seq: len(kept), rule: &r}
		seen := make(map[string]bool, len(r.WebhookDefinitions))
		for _, id := range r.WebhookDefinitions {
			if d, ok := ix.defs[id]; ok && d.Active && !seen[id] {
				seen[id] = true
				c.defs = append(c.defs, d)
			}
		}
		if len(c.defs) == 0 {
			continue
		}
		if r.Condition != "" {
			prg, ok := programs[r.Condition]
			if !ok {
				var err error
				if prg, err = config.CompileCondition(r.Condition); err != nil {
					errs = append(errs, fmt.Errorf("rule %q: %w", r.ID, err))
					continue
				}
				programs[r.Condition] = prg
			}
			c.prg = prg
		}
		kept = append(kept, c)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("build rules index: %w", errors.Join(errs...))
	}
	ix.rules = len(kept)

	// Group by entity and action in configuration order, then merge the any-action rules into
	// each listed action's list so that Match does two map lookups and no merging.
	listed := make(map[string]map[string][]*compiled)
	for _, c := range kept {
		er := ix.byEntity[c.rule.Entity]
		if er == nil {
			er = &entityRules{byAction: make(map[string]candidates)}
			ix.byEntity[c.rule.Entity] = er
			listed[c.rule.Entity] = make(map[string][]*compiled)
		}
		if len(c.rule.Actions) == 0 {
			er.anyAction = er.anyAction.with(c)
			continue
		}
		done := make(map[string]bool, len(c.rule.Actions))
		for _, a := range c.rule.Actions {
			if !done[a] {
				done[a] = true
				listed[c.rule.Entity][a] = append(listed[c.rule.Entity][a], c)
			}
		}
	}
	for entity, actions := range listed {
		er := ix.byEntity[entity]
		for a, rs := range actions {
			var cs candidates
			for _, c := range mergeBySeq(rs, er.anyAction.rules) {
				cs = cs.with(c)
			}
			er.byAction[a] = cs
		}
	}
	return ix, nil
}

func (cs candidates) with(c *compiled) candidates {
	cs.rules = append(cs.rules, c)
	cs.conditions = cs.conditions || c.prg != nil
	cs.maxMatches += len(c.defs)
	return cs
}

func mergeBySeq(a, b []*compiled) []*compiled {
	out := make([]*compiled, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0].seq < b[0].seq {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// Len is the number of rules the Index matches with: active, with at least one active definition.
func (ix *Index) Len() int { return ix.rules }

// Definition returns the definition with this id as given to New, active or not, so the worker
// can look up the current form of a definition it delivers to. It must not be modified.
func (ix *Index) Definition(id string) (*config.Definition, bool) {
	d, ok := ix.defs[id]
	return d, ok
}

// Match returns one Match per (rule, active definition) whose rule fires on ev, in configuration
// order; none is not an error. A condition that fails to evaluate is false (and reported to
// OnConditionError). The error is for an event Match cannot read at all (nil, or data that is not
// a JSON object, which event.Parse never lets through); it is an *event.InvalidError.
func (ix *Index) Match(ev *event.Event) ([]Match, error) {
	if ev == nil {
		return nil, &event.InvalidError{Reason: "no event"}
	}
	er := ix.byEntity[ev.Entity]
	if er == nil {
		return nil, nil
	}
	cs, ok := er.byAction[ev.Action]
	if !ok {
		cs = er.anyAction
	}
	if len(cs.rules) == 0 {
		return nil, nil
	}
	var vars cel.Activation
	if cs.conditions {
		var err error
		if vars, err = activation(ev); err != nil {
			return nil, fmt.Errorf("match event %q: %w", ev.ID, err)
		}
	}
	var out []Match
	for _, c := range cs.rules {
		if c.prg != nil && !ix.holds(c, vars) {
			continue
		}
		if out == nil {
			out = make([]Match, 0, cs.maxMatches)
		}
		for _, d := range c.defs {
			out = append(out, Match{Rule: c.rule, Definition: d})
		}
	}
	return out, nil
}

// holds evaluates a rule's condition; anything but true is false.
func (ix *Index) holds(c *compiled, vars cel.Activation) bool {
	out, _, err := c.prg.Eval(vars)
	if err == nil {
		if b, ok := out.(types.Bool); ok {
			return bool(b)
		}
		err = fmt.Errorf("condition evaluated to %s, not bool", out.Type().TypeName())
	}
	if ix.onCondErr != nil && !missingField(err) {
		ix.onCondErr(c.rule.ID, err)
	}
	return false
}

// missingField reports whether a condition failed only because the event lacks a field it reads:
// the contract makes that plain false, not an error, so it is not reported as one. cel-go reports
// it as an evaluation error whose message is its only distinguishing mark.
func missingField(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "no such key") || strings.Contains(msg, "no such attribute")
}

// activation is the event as conditions see it: the body of section 2 as a map, with an absent
// actor as "" and absent changed as [] so that `"status" in event.changed` is simply false. It is
// built once per event, for all of its rules.
func activation(ev *event.Event) (cel.Activation, error) {
	data, err := decodeData(ev.Data)
	if err != nil {
		return nil, err
	}
	changed := ev.Changed
	if changed == nil {
		changed = []string{}
	}
	m := map[string]any{
		"id":          ev.ID,
		"entity":      ev.Entity,
		"entity_id":   ev.EntityID,
		"action":      ev.Action,
		"occurred_at": ev.OccurredAt,
		"actor":       ev.Actor,
		"changed":     changed,
		"data":        data,
	}
	return cel.NewActivation(map[string]any{config.ConditionVariable: types.DefaultTypeAdapter.NativeToValue(m)})
}

// decodeData decodes the event's data keeping integers exact: JSON numbers that are integers
// become int64 (so event.data.count + 1 == 4 works, and large ids keep their digits), the others
// float64.
func decodeData(raw json.RawMessage) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var data map[string]any
	if err := dec.Decode(&data); err != nil || data == nil {
		reason := "data is not a JSON object"
		if err != nil {
			reason += ": " + err.Error()
		}
		return nil, &event.InvalidError{Reason: reason}
	}
	for k, v := range data {
		data[k] = numbers(v)
	}
	return data, nil
}

func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64() // out of range: ±Inf, still comparable
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}
