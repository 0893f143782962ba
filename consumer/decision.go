package consumer

import (
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Action is what happens to a message once its handler is done with it.
type Action int

const (
	// Ack: the work is finished and its results are stored.
	Ack Action = iota
	// Retry: try the same message again after Delay (a transient fault of ours, such as the store
	// being unreachable; not a receiver's failure, which is scheduled as a new delivery message).
	Retry
	// HandBack: the worker is shutting down; another replica (or this one after a restart) takes
	// the message at once.
	HandBack
	// Term: the message can never be processed; JetStream must not redeliver it.
	Term
)

// Decision is a handler's verdict on a message.
type Decision struct {
	Action Action
	Delay  time.Duration // Retry only
	Reason string        // Term only
}

// Apply sends the acknowledgement that fits the decision. It is the only place that does.
func (d Decision) Apply(msg jetstream.Msg) error {
	var err error
	switch d.Action {
	case Ack:
		err = msg.Ack()
	case Retry:
		err = msg.NakWithDelay(d.Delay)
	case HandBack:
		err = msg.Nak()
	case Term:
		err = msg.TermWithReason(d.Reason)
	default:
		return fmt.Errorf("unknown consumer action %d", d.Action)
	}
	if err != nil {
		return fmt.Errorf("acknowledge message on %s (action %d): %w", msg.Subject(), d.Action, err)
	}
	return nil
}
