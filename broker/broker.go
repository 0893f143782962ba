// Package broker connects to NATS, to a cluster named by URL with its credentials and TLS (or,
// in standalone mode, to the server of broker/embedded). webhookd and webhookctl share it so
// their connection flags mean the same thing; it depends on the NATS client only, never on the
// server.
package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Options are the NATS connection settings of CONTRACT.md section 1.
type Options struct {
	URL      string
	Creds    string // credentials file (JWT + nkey seed)
	NKey     string // nkey seed file
	User     string
	Password string
	Token    string // authentication token (a nats CLI context's "token")
	TLSCA    string
	TLSCert  string
	TLSKey   string
	Name     string // connection name shown by the server
	// InboxPrefix is the prefix of every reply subject this client listens on (requests,
	// JetStream fetches and publish acks); empty: NATS's own "_INBOX". Giving each role its own
	// lets NATS permissions keep each role's replies to itself.
	InboxPrefix string
}

// DefaultInboxPrefix is NATS's own prefix of reply subjects.
const DefaultInboxPrefix = "_INBOX"

// CheckInboxPrefix reports whether prefix can prefix reply subjects: tokens without
// wildcards or spaces, not ending with a dot.
func CheckInboxPrefix(prefix string) error {
	if prefix == "" || strings.ContainsAny(prefix, "*> \t\r\n") || strings.HasPrefix(prefix, ".") ||
		strings.HasSuffix(prefix, ".") || strings.Contains(prefix, "..") {
		return fmt.Errorf("inbox prefix %q: want subject tokens such as _INBOX_webhookd, without wildcards or spaces", prefix)
	}
	return nil
}

// Connect dials NATS and keeps reconnecting forever: a worker that gives up on its broker is
// worse than one that waits for it. The first connection must succeed within ctx.
func Connect(ctx context.Context, o Options, log *slog.Logger) (*nats.Conn, error) {
	if o.URL == "" {
		return nil, errors.New("connect to NATS: no URL")
	}
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("NATS disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("NATS reconnected", "server", nc.ConnectedUrlRedacted()) }),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subj := ""
			if sub != nil {
				subj = sub.Subject
			}
			log.Error("NATS async error", "subject", subj, "error", err)
		}),
	}
	if o.InboxPrefix != "" && o.InboxPrefix != DefaultInboxPrefix {
		if err := CheckInboxPrefix(o.InboxPrefix); err != nil {
			return nil, fmt.Errorf("connect to NATS: %w", err)
		}
		opts = append(opts, nats.CustomInboxPrefix(o.InboxPrefix))
	}
	if o.Creds != "" {
		opts = append(opts, nats.UserCredentials(o.Creds))
	}
	if o.NKey != "" {
		opt, err := nats.NkeyOptionFromSeed(o.NKey)
		if err != nil {
			return nil, fmt.Errorf("load NATS nkey seed file %q: %w", o.NKey, err)
		}
		opts = append(opts, opt)
	}
	if o.User != "" {
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.Token != "" {
		opts = append(opts, nats.Token(o.Token))
	}
	if o.TLSCA != "" {
		opts = append(opts, nats.RootCAs(o.TLSCA))
	}
	if o.TLSCert != "" || o.TLSKey != "" {
		if o.TLSCert == "" || o.TLSKey == "" {
			return nil, errors.New("connect to NATS: a TLS client certificate needs both --nats-tls-cert and --nats-tls-key")
		}
		opts = append(opts, nats.ClientCert(o.TLSCert, o.TLSKey))
	}
	if deadline, ok := ctx.Deadline(); ok {
		opts = append(opts, nats.Timeout(time.Until(deadline)))
	}
	type result struct {
		nc  *nats.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		nc, err := nats.Connect(o.URL, opts...)
		ch <- result{nc, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("connect to NATS at %s: %w", redact(o.URL), r.err)
		}
		return r.nc, nil
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.nc != nil {
				r.nc.Close()
			}
		}()
		return nil, fmt.Errorf("connect to NATS at %s: %w", redact(o.URL), ctx.Err())
	}
}

// redact hides user info in a URL list (comma separated), for error messages and logs.
func redact(urls string) string {
	parts := strings.Split(urls, ",")
	for i, raw := range parts {
		u, err := url.Parse(strings.TrimSpace(raw))
		switch {
		case err != nil:
			parts[i] = "<unparsable NATS URL>"
		case u.User != nil:
			parts[i] = u.Redacted()
		}
	}
	return strings.Join(parts, ",")
}
