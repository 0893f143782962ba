// Package publisher is the Go client upstream services use to publish entity change events to
// webhookd (CONTRACT.md section 2). It refuses an invalid envelope before anything is sent, so a
// mistake shows up in the caller's error rather than in webhookd's invalid_events collection,
// and it publishes through JetStream with the event id as Nats-Msg-Id, so publishing the same
// event again inside the stream's duplicate window stores it once: a publisher that is unsure
// whether a publish went through simply publishes again.
package publisher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookd/webhookd/event"
)

// ErrNilEvent is returned for a nil *event.Event.
var ErrNilEvent = errors.New("publish event: nil event")

// Publisher publishes events on a JetStream context. It is safe for concurrent use.
type Publisher struct {
	js            jetstream.JetStream
	expectStream  string
	retryAttempts int
}

// Option configures a Publisher.
type Option func(*Publisher)

// WithExpectStream makes every publish fail unless the server stores it in the named stream
// (default event.StreamName, "CRM_EVENTS"), so a subject captured by some other stream is
// noticed. An empty name turns the check off.
func WithExpectStream(name string) Option { return func(p *Publisher) { p.expectStream = name } }

// WithRetryAttempts sets how often a synchronous publish is retried when no stream answers yet
// (for example while webhookd is creating CRM_EVENTS at its first start). Default 2.
func WithRetryAttempts(n int) Option { return func(p *Publisher) { p.retryAttempts = max(n, 0) } }

// New returns a Publisher on js. Asynchronous publishes are bounded by js's own
// jetstream.WithPublishAsyncMaxPending.
func New(js jetstream.JetStream, opts ...Option) *Publisher {
	p := &Publisher{js: js, expectStream: event.StreamName, retryAttempts: 2}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Publish validates ev, publishes it on crm.events.<entity>.<action> and waits for JetStream's
// acknowledgement. An invalid event is refused with an error for which event.IsInvalid is true,
// and nothing is sent. A duplicate (same id inside the stream's duplicate window) is
// acknowledged with PubAck.Duplicate set and stored once.
func (p *Publisher) Publish(ctx context.Context, ev *event.Event) (*jetstream.PubAck, error) {
	msg, err := message(ev)
	if err != nil {
		return nil, err
	}
	opts := p.publishOpts()
	opts = append(opts, jetstream.WithRetryAttempts(p.retryAttempts))
	ack, err := p.js.PublishMsg(ctx, msg, opts...)
	if err != nil {
		return nil, fmt.Errorf("publish event %q on %s: %w", ev.ID, msg.Subject, err)
	}
	return ack, nil
}

// PublishAsync validates ev and publishes it without waiting for its acknowledgement; the
// future yields the acknowledgement or the error. An invalid event is refused at once, as by
// Publish. When the JetStream context's window of unacknowledged publishes
// (jetstream.WithPublishAsyncMaxPending) is full, PublishAsync waits for room until ctx ends,
// so a burst of any size is paced by the server instead of failing with
// jetstream.ErrTooManyStalledMsgs. Wait for every outstanding publish with WaitAsync.
func (p *Publisher) PublishAsync(ctx context.Context, ev *event.Event) (jetstream.PubAckFuture, error) {
	msg, err := message(ev)
	if err != nil {
		return nil, err
	}
	opts := append(p.publishOpts(), jetstream.WithStallWait(stallSlice))
	for {
		fut, err := p.js.PublishMsgAsync(msg, opts...)
		if err == nil {
			return fut, nil
		}
		if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			return nil, fmt.Errorf("publish event %q on %s: %w", ev.ID, msg.Subject, err)
		}
		// The window stayed full for a whole slice: wait for another unless ctx is over. The
		// wait itself is nats.go's, which returns as soon as an acknowledgement frees a slot.
		if ctx.Err() != nil {
			return nil, fmt.Errorf("publish event %q on %s: waiting for room among %d unacknowledged publishes: %w",
				ev.ID, msg.Subject, p.js.PublishAsyncPending(), context.Cause(ctx))
		}
	}
}

// stallSlice is how long one attempt of PublishAsync waits for room in a full window before it
// looks at its context again: short enough that a cancelled context is noticed quickly.
const stallSlice = 100 * time.Millisecond

// PublishAsyncComplete returns a channel closed once every asynchronous publish made on the
// underlying JetStream context so far has been acknowledged or has failed.
func (p *Publisher) PublishAsyncComplete() <-chan struct{} { return p.js.PublishAsyncComplete() }

// PublishAsyncPending is the number of asynchronous publishes not yet acknowledged.
func (p *Publisher) PublishAsyncPending() int { return p.js.PublishAsyncPending() }

// WaitAsync waits until every asynchronous publish so far is settled, or ctx ends.
func (p *Publisher) WaitAsync(ctx context.Context) error {
	select {
	case <-p.js.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for %d asynchronous publishes: %w", p.js.PublishAsyncPending(), ctx.Err())
	}
}

func (p *Publisher) publishOpts() []jetstream.PublishOpt {
	if p.expectStream == "" {
		return nil
	}
	return []jetstream.PublishOpt{jetstream.WithExpectStream(p.expectStream)}
}

// InboxPrefix is a connection option (for nats.Connect) that gives a publishing service reply
// subjects of its own: JetStream's publish acknowledgements come back on them. With each role
// on its own prefix, NATS permissions let a publisher subscribe to its own replies only, so it
// sees neither the control plane's replies nor the events webhookd fetches:
//
//	nc, err := nats.Connect(url, nats.UserInfo("publisher", password), publisher.InboxPrefix("_INBOX_publisher"))
func InboxPrefix(prefix string) nats.Option { return nats.CustomInboxPrefix(prefix) }

// message builds the NATS message of a valid event.
func message(ev *event.Event) (*nats.Msg, error) {
	if ev == nil {
		return nil, ErrNilEvent
	}
	if err := ev.Validate(); err != nil {
		return nil, fmt.Errorf("publish event %q: %w", ev.ID, err)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		// Validate checks data's first byte only; malformed JSON after it ends up here.
		return nil, fmt.Errorf("publish event %q: %w", ev.ID,
			&event.InvalidError{Reason: "field \"data\" is not valid JSON: " + err.Error()})
	}
	msg := nats.NewMsg(ev.Subject())
	msg.Data = body
	msg.Header.Set(jetstream.MsgIDHeader, ev.ID)
	return msg, nil
}
