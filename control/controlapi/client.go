package controlapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// Errors of Client.Call besides *Error (an error reply).
var (
	// ErrNoResponders: no webhookd answers control messages on this NATS.
	ErrNoResponders = errors.New("no webhookd is answering control messages")
	// ErrTimeout: webhookd went silent for longer than the idle timeout.
	ErrTimeout = errors.New("timed out waiting for webhookd")
)

// Client sends control commands: what webhookctl and tests use, and an example of the
// protocol for other clients.
type Client struct {
	nc *nats.Conn
	// Idle bounds the silence between two messages from the responder (progress messages
	// restart it); default 10s. The context bounds the whole call.
	Idle time.Duration
}

// NewClient returns a client on nc.
func NewClient(nc *nats.Conn) *Client { return &Client{nc: nc, Idle: 10 * time.Second} }

// Call sends a command with req (marshalled to JSON, or sent as is when it is a []byte or
// json.RawMessage) and returns the reply's result. An error reply is returned as *Error.
// onProgress, when not nil, receives progress messages (the request must ask for them with
// "progress":true).
func (c *Client) Call(ctx context.Context, command string, req any, onProgress func(Progress)) (json.RawMessage, error) {
	var body []byte
	switch v := req.(type) {
	case []byte:
		body = v
	case json.RawMessage:
		body = v
	default:
		b, err := json.Marshal(req)
		if err != nil {
			return nil, fmt.Errorf("encode %s request: %w", command, err)
		}
		body = b
	}
	inbox := c.nc.NewInbox()
	sub, err := c.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, fmt.Errorf("%s: subscribe to the reply inbox: %w", command, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := c.nc.PublishRequest(Subject(command), inbox, body); err != nil {
		return nil, fmt.Errorf("%s: send the request: %w", command, err)
	}
	idle := c.Idle
	if idle <= 0 {
		idle = 10 * time.Second
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, idle)
		msg, err := sub.NextMsgWithContext(wctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s: %w: %w", command, ErrTimeout, ctx.Err())
			}
			if errors.Is(err, nats.ErrNoResponders) {
				return nil, fmt.Errorf("%s: %w on %s", command, ErrNoResponders, Subject(command))
			}
			if errors.Is(err, context.DeadlineExceeded) {
				return nil, fmt.Errorf("%s: %w (no answer for %s)", command, ErrTimeout, idle)
			}
			return nil, fmt.Errorf("%s: wait for the reply: %w", command, err)
		}
		if len(msg.Data) == 0 && msg.Header.Get("Status") == "503" {
			return nil, fmt.Errorf("%s: %w on %s", command, ErrNoResponders, Subject(command))
		}
		if isProgress(msg.Data) {
			if onProgress != nil {
				var p ProgressMessage
				if json.Unmarshal(msg.Data, &p) == nil {
					onProgress(p.Progress)
				}
			}
			continue
		}
		var rep Reply
		if err := json.Unmarshal(msg.Data, &rep); err != nil {
			return nil, fmt.Errorf("%s: unreadable reply: %w", command, err)
		}
		if !rep.OK {
			if rep.Error == nil {
				return nil, fmt.Errorf("%s: reply without ok and without an error", command)
			}
			return nil, rep.Error
		}
		return rep.Result, nil
	}
}

// isProgress tells a progress message from the final reply: it has "progress" and no "ok".
func isProgress(b []byte) bool {
	if !bytes.Contains(b, []byte(`"progress"`)) {
		return false
	}
	var probe struct {
		OK       *bool           `json:"ok"`
		Progress json.RawMessage `json:"progress"`
	}
	return json.Unmarshal(b, &probe) == nil && probe.OK == nil && probe.Progress != nil
}

// Do is Call that decodes the result into out.
func (c *Client) Do(ctx context.Context, command string, req, out any, onProgress func(Progress)) error {
	res, err := c.Call(ctx, command, req, onProgress)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(res, out); err != nil {
		return fmt.Errorf("%s: decode the result: %w", command, err)
	}
	return nil
}
