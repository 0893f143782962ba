package consumer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/event"
)

// Names of webhookd's own stream and consumers.
const (
	EventsConsumer          = "webhookd-events"
	DeliveriesStream        = "WEBHOOKD_DELIVERIES"
	DeliveriesSubjectPrefix = "webhookd.deliveries."
	deliveriesConsumerPfx   = "deliveries-"
)

// MaxDeliveryConsumers bounds the deliveries stream's consumers, one per webhook definition.
const MaxDeliveryConsumers = 100_000

// DeliverySubject is where a definition's deliveries are queued.
func DeliverySubject(definitionID string) string { return DeliveriesSubjectPrefix + definitionID }

// DeliveryConsumerName is the durable consumer of a definition's deliveries.
func DeliveryConsumerName(definitionID string) string { return deliveriesConsumerPfx + definitionID }

// DeliveryConsumerDefinition returns the definition id of a delivery consumer's name, and
// whether the name is one.
func DeliveryConsumerDefinition(name string) (string, bool) {
	id, ok := strings.CutPrefix(name, deliveriesConsumerPfx)
	return id, ok && id != ""
}

// EnsureEventsStream binds to CRM_EVENTS, creating it (file storage) when it does not exist.
// An existing stream is used as its owner configured it.
func EnsureEventsStream(ctx context.Context, js jetstream.JetStream) (jetstream.Stream, error) {
	return ensureStream(ctx, js, jetstream.StreamConfig{
		Name:        event.StreamName,
		Description: "CRM entity change events (crm.events.<entity>.<action>), created by webhookd; it keeps a week of them",
		Subjects:    []string{event.StreamSubjects},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		// Events are consumed within seconds; a week of them is kept for replays and
		// investigations, and a standalone disk does not grow forever. An upstream-owned stream
		// keeps its owner's limits.
		MaxAge:     7 * 24 * time.Hour,
		Duplicates: 2 * time.Minute,
	}, false)
}

// EnsureDeliveriesStream creates or updates webhookd's work queue of deliveries.
func EnsureDeliveriesStream(ctx context.Context, js jetstream.JetStream) (jetstream.Stream, error) {
	return ensureStream(ctx, js, jetstream.StreamConfig{
		Name:        DeliveriesStream,
		Description: "webhookd deliveries waiting for an attempt, one subject per webhook definition",
		Subjects:    []string{DeliveriesSubjectPrefix + "*"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.WorkQueuePolicy,
		// A re-published fan-out (an event redelivered after a crash) or retry (a task
		// redelivered after a crash between publishing its next attempt and its ack) is stored
		// once when it comes back within the window. That covers the events' 1m ack wait and a
		// delivery's (attempt timeout, at most 5m, plus 30s), but not the longer ack wait of a
		// slowly rate-limited definition: there, a crash at that moment repeats one attempt (the
		// webhook request is still written once). The server holds every id of the window in
		// memory, so no longer.
		Duplicates: 10 * time.Minute,
		// The disk every definition shares is bounded per definition: a receiver down for days
		// fills its own subject up to this and no further. Each definition's max_queued, at most
		// this, is checked before publishing (worker); this is the server's hard stop.
		MaxMsgsPerSubject:    config.MaxMaxQueued,
		Discard:              jetstream.DiscardNew,
		DiscardNewPerSubject: true,
		// One consumer per definition: the server's default of 1,000 consumers a stream (when
		// neither the stream nor the account sets one) would make definition 1,001 undeliverable.
		MaxConsumers: MaxDeliveryConsumers,
	}, true)
}

func ensureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig, ours bool) (jetstream.Stream, error) {
	if ours {
		s, err := js.CreateOrUpdateStream(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("create or update stream %s: %w", cfg.Name, err)
		}
		return s, nil
	}
	s, err := js.Stream(ctx, cfg.Name)
	if err == nil {
		return s, nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("look up stream %s: %w", cfg.Name, err)
	}
	s, err = js.CreateStream(ctx, cfg)
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		// Another replica created it first.
		s, err = js.Stream(ctx, cfg.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("create stream %s: %w", cfg.Name, err)
	}
	return s, nil
}

// EnsureEventsConsumer creates or updates the durable consumer all replicas share.
//
// A new consumer starts with the oldest event the stream holds, so nothing published before
// webhookd's first start is lost. An existing one keeps where it starts from (an operator may
// have created it with "deliver new"; the server refuses to change it anyway).
func EnsureEventsConsumer(ctx context.Context, s jetstream.Stream, maxAckPending int) (jetstream.Consumer, error) {
	cfg := jetstream.ConsumerConfig{
		Durable:       EventsConsumer,
		Description:   "webhookd: matches events to workflow rules and queues their deliveries",
		FilterSubject: event.StreamSubjects,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       time.Minute,
		MaxDeliver:    -1,
		MaxAckPending: maxAckPending,
	}
	if existing, err := s.Consumer(ctx, EventsConsumer); err == nil {
		old := existing.CachedInfo().Config
		cfg.DeliverPolicy, cfg.OptStartSeq, cfg.OptStartTime = old.DeliverPolicy, old.OptStartSeq, old.OptStartTime
	} else if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("look up consumer %s on %s: %w", EventsConsumer, event.StreamName, err)
	}
	c, err := s.CreateOrUpdateConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create consumer %s on %s: %w", EventsConsumer, event.StreamName, err)
	}
	return c, nil
}

// EnsureDeliveryConsumer creates or updates a definition's durable consumer. ackWait must cover
// one attempt; longer waits (rate limiting) are covered by InProgress.
func EnsureDeliveryConsumer(ctx context.Context, s jetstream.Stream, definitionID string, ackWait time.Duration, maxAckPending int) (jetstream.Consumer, error) {
	name := DeliveryConsumerName(definitionID)
	c, err := s.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       name,
		Description:   "webhookd: deliveries of webhook definition " + definitionID,
		FilterSubject: DeliverySubject(definitionID),
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       ackWait,
		MaxDeliver:    -1,
		MaxAckPending: maxAckPending,
	})
	if err != nil {
		return nil, fmt.Errorf("create consumer %s on %s: %w", name, DeliveriesStream, err)
	}
	return c, nil
}

// DeliveryConsumerDefinitions lists the definition ids that have a delivery consumer, including
// those of definitions deleted since, whose queued deliveries still have to be finished.
func DeliveryConsumerDefinitions(ctx context.Context, s jetstream.Stream) ([]string, error) {
	names := s.ConsumerNames(ctx)
	var ids []string
	for n := range names.Name() {
		if id, ok := DeliveryConsumerDefinition(n); ok {
			ids = append(ids, id)
		}
	}
	if err := names.Err(); err != nil {
		return nil, fmt.Errorf("list consumers of %s: %w", DeliveriesStream, err)
	}
	return ids, nil
}

// QueuedDeliveries counts the deliveries waiting in the work queue (ready, parked for a retry or
// in flight) by definition id, whether or not a consumer exists for them (a definition's consumer
// runs only while it has some; one deleted right after its deliveries were queued may never
// have had one). In a work queue a message is gone once acknowledged, so this is each
// definition's queue depth.
func QueuedDeliveries(ctx context.Context, s jetstream.Stream) (map[string]uint64, error) {
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(DeliveriesSubjectPrefix+"*"))
	if err != nil {
		return nil, fmt.Errorf("list queued subjects of %s: %w", DeliveriesStream, err)
	}
	queued := make(map[string]uint64, len(info.State.Subjects))
	for subj, n := range info.State.Subjects {
		if id, ok := strings.CutPrefix(subj, DeliveriesSubjectPrefix); ok && n > 0 {
			queued[id] = n
		}
	}
	return queued, nil
}
