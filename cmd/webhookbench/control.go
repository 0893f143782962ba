package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// listSubject is the control command that lists webhook requests (CONTRACT.md section 6).
const listSubject = "crm.webhooks.control.requests.list"

// pageLimit is the largest page requests.list gives.
const pageLimit = 1000

type listRequest struct {
	Filter listFilter `json:"filter"`
	Limit  int        `json:"limit"`
	After  string     `json:"after,omitempty"`
}

type listFilter struct {
	WebhookDefinition string `json:"webhook_definition,omitempty"`
	CreatedFrom       string `json:"created_from"`
}

type listReply struct {
	OK     bool `json:"ok"`
	Result struct {
		Items []storedRequest `json:"items"`
		Next  string          `json:"next"`
	} `json:"result"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// storedRequest is the part of a webhook request the benchmark reads.
type storedRequest struct {
	EventID string `json:"event_id"`
	State   string `json:"state"`
	Log     struct {
		CreatedAt time.Time `json:"created_at"`
	} `json:"log"`
}

// storedSet is what the store holds of one phase.
type storedSet struct {
	createdAt  map[string]time.Time // by event id
	duplicates int                  // webhook requests beyond the first for an event id
	rejected   int
}

// listStored pages through requests.list for the requests of definition (every definition's
// when empty) created since from, and keeps those of phase. maxPages bounds the pages read.
func listStored(ctx context.Context, nc *nats.Conn, definition string, from time.Time, phase string, maxPages int) (storedSet, error) {
	set := storedSet{createdAt: map[string]time.Time{}}
	req := listRequest{
		Filter: listFilter{WebhookDefinition: definition, CreatedFrom: from.UTC().Format(time.RFC3339Nano)},
		Limit:  pageLimit,
	}
	for page := 0; ; page++ {
		if page == maxPages {
			return set, fmt.Errorf("%s: more than %d pages of %d", listSubject, maxPages, pageLimit)
		}
		body, err := json.Marshal(req)
		if err != nil {
			return set, fmt.Errorf("%s: encode request: %w", listSubject, err)
		}
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		msg, err := nc.RequestWithContext(rctx, listSubject, body)
		cancel()
		if err != nil {
			return set, fmt.Errorf("%s page %d: %w", listSubject, page+1, err)
		}
		var reply listReply
		if err := json.Unmarshal(msg.Data, &reply); err != nil {
			return set, fmt.Errorf("%s page %d: decode reply: %w", listSubject, page+1, err)
		}
		if !reply.OK {
			if reply.Error != nil {
				return set, fmt.Errorf("%s page %d: %s: %s", listSubject, page+1, reply.Error.Code, reply.Error.Message)
			}
			return set, fmt.Errorf("%s page %d: not ok: %s", listSubject, page+1, msg.Data)
		}
		for _, it := range reply.Result.Items {
			if phaseOf(it.EventID) != phase {
				continue
			}
			if _, dup := set.createdAt[it.EventID]; dup {
				set.duplicates++
				continue
			}
			set.createdAt[it.EventID] = it.Log.CreatedAt
			if it.State != "successful" {
				set.rejected++
			}
		}
		if reply.Result.Next == "" {
			return set, nil
		}
		req.After = reply.Result.Next
	}
}

// applySubject is the control command that applies a configuration document.
const applySubject = "crm.webhooks.control.config.apply"

// benchUser is who the benchmark's control commands say they come from (the audit records it).
const benchUser = "webhookbench"

// document is the part of a configuration document (docs/configuration.md) the benchmark
// applies: what it leaves out takes its default.
type document struct {
	User        string          `json:"user"`
	Definitions []docDefinition `json:"webhook_definitions,omitempty"`
	Rules       []docRule       `json:"workflow_rules,omitempty"`
}

type docDefinition struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	URL       string `json:"url"`
	SecretKey string `json:"secret_key"`
	Timeout   string `json:"timeout,omitempty"`
}

type docRule struct {
	ID                 string   `json:"id"`
	Name               string   `json:"name"`
	Entity             string   `json:"entity"`
	WebhookDefinitions []string `json:"webhook_definitions"`
}

type applyReply struct {
	OK     bool `json:"ok"`
	Result struct {
		Definitions int `json:"webhook_definitions"`
		Rules       int `json:"workflow_rules"`
	} `json:"result"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// applyConfig sends doc as config.apply and returns when webhookd replied that it is applied.
func applyConfig(ctx context.Context, nc *nats.Conn, doc document) error {
	doc.User = benchUser
	body, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("%s: encode request: %w", applySubject, err)
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	msg, err := nc.RequestWithContext(rctx, applySubject, body)
	if err != nil {
		return fmt.Errorf("%s: %w", applySubject, err)
	}
	var reply applyReply
	if err := json.Unmarshal(msg.Data, &reply); err != nil {
		return fmt.Errorf("%s: decode reply: %w", applySubject, err)
	}
	switch {
	case !reply.OK && reply.Error != nil:
		return fmt.Errorf("%s: %s: %s", applySubject, reply.Error.Code, reply.Error.Message)
	case !reply.OK:
		return fmt.Errorf("%s: not ok: %s", applySubject, msg.Data)
	case reply.Result.Definitions != len(doc.Definitions) || reply.Result.Rules != len(doc.Rules):
		return fmt.Errorf("%s: applied %d definitions and %d rules, sent %d and %d", applySubject,
			reply.Result.Definitions, reply.Result.Rules, len(doc.Definitions), len(doc.Rules))
	}
	return nil
}
