package consumer

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Action is what happens to a message once its handler is done with it.
type Action int

const (
	// Ack: the work is finished and its results are stored.
	Ack Action = iota
	// Retry: try the same message again after Delay (a transient fault of ours, such as the store
	// being unreachable, or a delivery whose next attempt is not due yet).
	Retry
	// HandBack: the worker is shutting down; another replica (or this one after a restart) takes
	// the message at once.
	HandBack
	// Term: the message can never be processed; JetStream must not redeliver it.
	Term
)

func (a Action) String() string {
	switch a {
	case Ack:
		return "ack"
	case Retry:
		return "retry"
	case HandBack:
		return "hand back"
	case Term:
		return "term"
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// Decision is a handler's verdict on a message.
type Decision struct {
	Action Action
	Delay  time.Duration // Retry only
	Reason string        // Term only
}

// ackTimeout bounds the wait for the server to confirm an acknowledgement.
const ackTimeout = 5 * time.Second

// Apply sends the acknowledgement that fits the decision. It is the only place that does.
//
// An Ack is sent without waiting for the server's confirmation: it is the hot path (one per
// event and one per queued delivery), and waiting for its round trip would hold the handler's
// slot for nothing, since the message's results are stored before it is sent. An ack lost with
// the connection only means the message comes again, and its delivery is not stored twice
// (receivers deduplicate the attempt by webhook-id); Worker.Stop drains the connection, so a
// shutdown's last acks are sent. Every other decision waits for the server's confirmation when
// a connection is given: a hand-back lost in a shutdown would leave its message waiting for its
// ack wait. Retry and HandBack are both naks
// with a delay, because the server persists a delayed nak in the consumer's state, where a plain
// nak only lives in memory: with an embedded server restarting alongside the worker, a plain
// nak is forgotten and the message waits for its whole ack wait.
func (d Decision) Apply(ctx context.Context, nc *nats.Conn, msg jetstream.Msg) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
	defer cancel()
	var err error
	switch d.Action {
	case Ack:
		err = msg.Ack()
	case Retry:
		err = nakWithDelay(ctx, nc, msg, d.Delay)
	case HandBack:
		err = nakWithDelay(ctx, nc, msg, handBackDelay)
	case Term:
		err = msg.TermWithReason(d.Reason)
	default:
		return fmt.Errorf("unknown consumer action %d", d.Action)
	}
	if err != nil {
		return fmt.Errorf("%s message on %s: %w", d.Action, msg.Subject(), err)
	}
	return nil
}

// handBackDelay is the smallest delay that still makes the server persist the nak.
const handBackDelay = time.Millisecond

// nakWithDelay sends the ack protocol's delayed "-NAK" and waits for the server to confirm it.
func nakWithDelay(ctx context.Context, nc *nats.Conn, msg jetstream.Msg, delay time.Duration) error {
	delay = max(delay, handBackDelay)
	if nc == nil || msg.Reply() == "" {
		return msg.NakWithDelay(delay)
	}
	_, err := nc.RequestWithContext(ctx, msg.Reply(), fmt.Appendf(nil, `-NAK {"delay":%d}`, delay.Nanoseconds()))
	return err
}
