package pipeline

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookd/webhookd/consumer"
)

// Mender is the embedded NATS server as the consumers see it (broker/embedded.Server): a
// channel that is closed once its JetStream store takes writes again (at once while it does).
type Mender interface {
	StoreWritable() <-chan struct{}
}

// afterJetStreamMends wraps a consumer's handler, standalone: while the embedded JetStream's
// store refuses writes, a message's decision waits for JetStream to be back before the pool
// applies it. The embedded server mends its store by restarting JetStream (broker/embedded),
// and acknowledgements are not confirmed (consumer.Decision.Apply): one sent during the restart
// would be lost, its message would come again after its ack wait, and a delivery already stored
// would be attempted again. Meanwhile the message is kept in progress; the end of the shutdown's
// grace period ends the wait, and the decision is applied as it is.
func afterJetStreamMends(e Mender, k *Keeper, h consumer.Handler) consumer.Handler {
	if e == nil {
		return h
	}
	return func(ctx context.Context, msg jetstream.Msg) consumer.Decision {
		d := h(ctx, msg)
		select {
		case <-e.StoreWritable():
			return d
		default:
		}
		defer k.hold(msg)()
		select {
		case <-e.StoreWritable():
		case <-ctx.Done():
		}
		return d
	}
}
