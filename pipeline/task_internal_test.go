package pipeline

import (
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/event"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/webhook"
)

// benchEvent is the 600-byte event of event.BenchmarkParse, as cmd/webhookbench publishes it.
const benchEvent = `{"id":"evt-000001","entity":"customer","entity_id":"C-1001","action":"updated","occurred_at":"2026-11-27T10:00:00Z","actor":"jdoe","changed":["status","name"],"data":{"name":"Ada Lovelace","status":"active","email":"ada@example.com","address":{"city":"Paphos","street":"1 Harbour Road","zip":"8000"},"tags":["vip","b2b"],"score":42,"notes":"`

// sampleTask is a first attempt's task as the fan-out makes it: a ~700-byte body.
func sampleTask(tb testing.TB) *task {
	tb.Helper()
	ev, err := event.Parse("crm.events.customer.updated", []byte(benchEvent+strings.Repeat("x", 280)+`"}}`))
	if err != nil {
		tb.Fatal(err)
	}
	body, err := webhook.BuildBody(ev, "customer-activated", "erp-sync", nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &task{
		WebhookID:    webhook.NewWebhookID(ev.ID, "customer-activated", "erp-sync"),
		EventID:      ev.ID,
		Entity:       ev.Entity,
		EntityID:     ev.EntityID,
		Action:       ev.Action,
		Rule:         storage.Ref{ID: "customer-activated", Name: "Customer activated"},
		DefinitionID: "erp-sync",
		FieldsSet:    &config.FieldsSet{Name: "customer-basic", Fields: []string{"name", "email", "status", "address.city"}},
		Body:         body,
		CreatedAt:    time.Date(2026, 11, 27, 8, 0, 0, 123456789, time.UTC),
	}
}

// BenchmarkEncodeTask is publishTask's encoding, once for every queued delivery and retry.
func BenchmarkEncodeTask(b *testing.B) {
	t := sampleTask(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeTask(t); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeTask is the first step of every attempt taken from a definition's queue.
func BenchmarkDecodeTask(b *testing.B) {
	data, err := encodeTask(sampleTask(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeTask(data); err != nil {
			b.Fatal(err)
		}
	}
}
