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
	WebhookDefinition string `json:"webhook_definition"`
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

// listStored pages through requests.list for the benchmark's definition's requests created
// since from, and keeps those of phase. maxPages bounds the pages read.
func listStored(ctx context.Context, nc *nats.Conn, from time.Time, phase string, maxPages int) (storedSet, error) {
	set := storedSet{createdAt: map[string]time.Time{}}
	req := listRequest{
		Filter: listFilter{WebhookDefinition: definitionID, CreatedFrom: from.UTC().Format(time.RFC3339Nano)},
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
