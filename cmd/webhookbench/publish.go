package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookd/webhookd/event"
)

// Publishing bounds: at most maxPending asynchronous publishes await their acknowledgement; a
// publish that finds no room waits up to stallWait, and one that still finds none waits for
// every outstanding publish to settle and tries again, at most maxStalls times.
const (
	maxPending = 1024
	stallWait  = 5 * time.Second
	maxStalls  = 20
	paceTick   = 5 * time.Millisecond
)

// publisher publishes events with JetStream, as an upstream service does (CONTRACT.md
// section 2): on crm.events.<entity>.<action>, with Nats-Msg-Id, into CRM_EVENTS.
type publisher struct {
	js jetstream.JetStream
}

type pending struct {
	msg *message
	fut jetstream.PubAckFuture
}

func newPublisher(nc *nats.Conn) (*publisher, error) {
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(maxPending))
	if err != nil {
		return nil, fmt.Errorf("jetstream on %s: %w", nc.ConnectedUrlRedacted(), err)
	}
	return &publisher{js: js}, nil
}

// publishBurst publishes msgs as fast as the server acknowledges them, then waits for every
// acknowledgement.
func (p *publisher) publishBurst(ctx context.Context, msgs []*message) error {
	futs := make([]pending, 0, len(msgs))
	for _, m := range msgs {
		f, err := p.publish(ctx, m)
		if err != nil {
			return err
		}
		futs = append(futs, f)
	}
	return p.settle(ctx, futs)
}

// publishPaced publishes msgs at rate per second: every paceTick, the ones whose time has come.
func (p *publisher) publishPaced(ctx context.Context, msgs []*message, rate float64) error {
	futs := make([]pending, 0, len(msgs))
	t := time.NewTicker(paceTick)
	defer t.Stop()
	start := time.Now()
	for len(futs) < len(msgs) {
		due := min(len(msgs), int(time.Since(start).Seconds()*rate)+1)
		for len(futs) < due {
			f, err := p.publish(ctx, msgs[len(futs)])
			if err != nil {
				return err
			}
			futs = append(futs, f)
		}
		if len(futs) == len(msgs) {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("publish at %.0f/s: %d of %d published: %w", rate, len(futs), len(msgs), ctx.Err())
		case <-t.C:
		}
	}
	return p.settle(ctx, futs)
}

// publish sends one event asynchronously and notes when. Back-pressure (every slot taken for
// stallWait) is waited out, not reported.
func (p *publisher) publish(ctx context.Context, m *message) (pending, error) {
	subject := event.Subject(m.entity, action)
	msg := nats.NewMsg(subject)
	msg.Data = m.body
	msg.Header.Set(jetstream.MsgIDHeader, m.id)
	for range maxStalls {
		m.publishedAt = time.Now()
		fut, err := p.js.PublishMsgAsync(msg, jetstream.WithExpectStream(event.StreamName), jetstream.WithStallWait(stallWait))
		if err == nil {
			return pending{msg: m, fut: fut}, nil
		}
		if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			return pending{}, fmt.Errorf("publish event %s on %s: %w", m.id, subject, err)
		}
		if err := p.waitAll(ctx); err != nil {
			return pending{}, fmt.Errorf("publish event %s: %w", m.id, err)
		}
	}
	return pending{}, fmt.Errorf("publish event %s on %s: no room for %d x %s", m.id, subject, maxStalls, stallWait)
}

func (p *publisher) waitAll(ctx context.Context) error {
	select {
	case <-p.js.PublishAsyncComplete():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for %d publish acknowledgements: %w", p.js.PublishAsyncPending(), ctx.Err())
	}
}

// settle waits for every acknowledgement and fails on the first error or duplicate.
func (p *publisher) settle(ctx context.Context, futs []pending) error {
	if err := p.waitAll(ctx); err != nil {
		return err
	}
	for _, f := range futs {
		select {
		case ack := <-f.fut.Ok():
			if ack.Duplicate {
				return fmt.Errorf("publish event %s: stored already (a duplicate id)", f.msg.id)
			}
		case err := <-f.fut.Err():
			return fmt.Errorf("publish event %s: %w", f.msg.id, err)
		case <-ctx.Done():
			return fmt.Errorf("publish event %s: acknowledgement: %w", f.msg.id, ctx.Err())
		}
	}
	return nil
}
