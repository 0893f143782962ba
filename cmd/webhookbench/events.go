package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/webhookd/webhookd/event"
)

// message is one event to publish, and when it was published.
type message struct {
	id          string
	entity      string // its subject is crm.events.<entity>.updated
	body        []byte
	publishedAt time.Time
}

// customer is the data of the benchmark's events; notes pads the body to the wanted size.
type customer struct {
	Name    string  `json:"name"`
	Email   string  `json:"email"`
	Status  string  `json:"status"`
	Tier    string  `json:"tier"`
	Address address `json:"address"`
	Notes   string  `json:"notes"`
}

type address struct {
	Street  string `json:"street"`
	City    string `json:"city"`
	Country string `json:"country"`
}

const filler = "Customer asked to be contacted by email about the renewal of the annual plan. "

// makeMessages builds n valid customer events of a phase, each body bodyBytes long (or as close
// as the envelope allows).
func makeMessages(phase string, n, bodyBytes int) ([]*message, error) {
	return makeEntityMessages(phase, n, bodyBytes, func(int) string { return entity })
}

// makeEntityMessages is makeMessages with event i of entity entityOf(i).
func makeEntityMessages(phase string, n, bodyBytes int, entityOf func(i int) string) ([]*message, error) {
	msgs := make([]*message, n)
	occurred := time.Now().UTC().Format(time.RFC3339)
	for i := range msgs {
		id := eventIDFor(phase, i)
		c := customer{
			Name:    fmt.Sprintf("Customer %07d", i),
			Email:   fmt.Sprintf("customer%07d@example.com", i),
			Status:  "active",
			Tier:    "gold",
			Address: address{Street: "1 Makarios Avenue", City: "Paphos", Country: "CY"},
		}
		ent := entityOf(i)
		body, err := eventBody(id, ent, occurred, c)
		if err != nil {
			return nil, err
		}
		if pad := bodyBytes - len(body); pad > 0 {
			c.Notes = strings.Repeat(filler, pad/len(filler)+1)[:pad]
			if body, err = eventBody(id, ent, occurred, c); err != nil {
				return nil, err
			}
		}
		msgs[i] = &message{id: id, entity: ent, body: body}
	}
	return msgs, nil
}

func eventBody(id, ent, occurred string, c customer) ([]byte, error) {
	data, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("event %s: encode data: %w", id, err)
	}
	ev := event.Event{
		ID: id, Entity: ent, EntityID: "C-" + id, Action: action, OccurredAt: occurred,
		Actor: "webhookbench", Changed: []string{"status", "notes"}, Data: data,
	}
	if err := ev.Validate(); err != nil {
		return nil, fmt.Errorf("event %s: %w", id, err)
	}
	body, err := json.Marshal(&ev)
	if err != nil {
		return nil, fmt.Errorf("event %s: encode: %w", id, err)
	}
	return body, nil
}
