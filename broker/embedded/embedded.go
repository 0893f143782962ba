// Package embedded runs a NATS server with JetStream inside webhookd's process, for standalone
// mode. It is apart from broker, which only connects, so that clients such as webhookctl do
// not link the server.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is a NATS server with JetStream running inside the process (standalone mode). It
// restarts JetStream after its disk refused writes (storeWatch).
type Server struct {
	srv   *server.Server
	watch *storeWatch
}

// Config says where the embedded server keeps its files and listens, and which standard
// nats-server configuration file (accounts, users, permissions, limits) it takes, if any.
type Config struct {
	DataDir    string // its JetStream store is DataDir/nats
	Listen     string // host:port; port 0 picks a free one
	ConfigFile string // empty: no authentication, allowed on a loopback address only
}

// ErrOpenToTheNetwork: the server would listen beyond loopback without authentication.
var ErrOpenToTheNetwork = errors.New("reachable from the network without authentication")

// Options checks cfg and returns the server's options, touching nothing on disk. The
// configuration file's settings are kept, but for where the server listens and stores, and
// JetStream, which webhookd sets. On an address other than loopback the file must configure
// authentication (users, nkeys, a token or an operator): a standalone webhookd published to a
// network must not let anyone apply configuration or read the JetStream API.
func Options(cfg Config) (*server.Options, error) {
	host, portStr, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS listen address %q: %w", cfg.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS listen address %q: port: %w", cfg.Listen, err)
	}
	opts := &server.Options{}
	if cfg.ConfigFile != "" {
		if opts, err = server.ProcessConfigFile(cfg.ConfigFile); err != nil {
			return nil, fmt.Errorf("embedded NATS configuration %s: %w", cfg.ConfigFile, err)
		}
	}
	if !loopback(host) && !authenticates(opts) {
		how := "give it users with a nats-server configuration file (--embedded-nats-config), or listen on 127.0.0.1"
		if cfg.ConfigFile != "" {
			how = cfg.ConfigFile + " configures no users, nkeys, token or operator"
		}
		return nil, fmt.Errorf("embedded NATS server on %s: %w: %s", cfg.Listen, ErrOpenToTheNetwork, how)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if opts.ServerName == "" {
		opts.ServerName = "webhookd-embedded"
	}
	opts.Host, opts.Port = host, port
	opts.JetStream = true
	opts.StoreDir = filepath.Join(cfg.DataDir, "nats")
	opts.NoSigs = true // signals belong to main, not to a library
	opts.NoLog = true
	// Room for a config.apply document (up to 4 MiB); events are bounded by their publishers'
	// servers in production, and by this in standalone mode.
	opts.MaxPayload = max(opts.MaxPayload, 8<<20)
	return opts, nil
}

// loopback reports whether host is a loopback address or name: only this machine reaches it.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// authenticates reports whether the server's options make clients authenticate.
func authenticates(o *server.Options) bool {
	return len(o.Users) > 0 || len(o.Nkeys) > 0 || o.Username != "" || o.Authorization != "" ||
		len(o.TrustedOperators) > 0 || len(o.TrustedKeys) > 0
}

// Start starts the server Options made, with JetStream on disk, so other clients can publish
// and send control messages. It returns once the server accepts connections, at once when the
// server cannot start (a port in use, a JetStream store it cannot open), or when ctx ends.
func Start(ctx context.Context, opts *server.Options, log *slog.Logger) (*Server, error) {
	listen := net.JoinHostPort(opts.Host, strconv.Itoa(opts.Port))
	if opts.Port != server.RANDOM_PORT {
		if err := canListen(listen); err != nil {
			// The server would report this through its logger only; asking first gives the
			// operator the plain reason, before anything is written to the data directory.
			return nil, err
		}
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("create embedded NATS server on %s: %w", listen, err)
	}
	log = log.With("component", "embedded-nats")
	watch := newStoreWatch(srv, opts, log)
	logger := &natsLogger{log: log, fatal: make(chan error, 1), writeFailed: watch.writeFailed}
	srv.SetLoggerV2(logger, false, false, false)
	// Start returns once the server listens, or after it reported why it cannot through
	// Fatalf; JetStream's recovery of a large store makes it slow, so it runs beside the wait.
	started := make(chan struct{})
	go func() {
		defer close(started)
		srv.Start()
	}()
	fail := func(err error) (*Server, error) {
		srv.Shutdown()
		<-started
		srv.WaitForShutdown()
		return nil, err
	}
	select {
	case err := <-logger.fatal:
		return fail(fmt.Errorf("embedded NATS server on %s: %w", listen, err))
	case <-ctx.Done():
		return fail(fmt.Errorf("embedded NATS server on %s: start interrupted: %w", listen, context.Cause(ctx)))
	case <-started:
	}
	// Start has returned: the server listens, or it has said why it cannot.
	select {
	case err := <-logger.fatal:
		return fail(fmt.Errorf("embedded NATS server on %s: %w", listen, err))
	default:
	}
	if !srv.ReadyForConnections(readyAfterStart) {
		return fail(fmt.Errorf("embedded NATS server on %s: not accepting connections %s after it started", listen, readyAfterStart))
	}
	logger.startedUp.Store(true)
	go watch.run()
	log.Info("embedded NATS server started", "url", srv.ClientURL(), "store_dir", opts.StoreDir)
	return &Server{srv: srv, watch: watch}, nil
}

// readyAfterStart bounds the wait for connections once Start has returned; by then the
// listener exists, so this is a formality.
const readyAfterStart = 5 * time.Second

// canListen reports whether addr can be listened on now.
func canListen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return ln.Close()
}

// ClientURL is the URL clients use to reach the embedded server.
func (e *Server) ClientURL() string { return e.srv.ClientURL() }

// StoreErr returns the outage of the JetStream store in progress (wrapping ErrStoreWrites and
// the server's own word on it), or nil when the store takes writes.
func (e *Server) StoreErr() error { return e.watch.err() }

// StoreWritable returns a channel that is closed once the JetStream store takes writes again,
// JetStream restarted (at once when there is no outage).
func (e *Server) StoreWritable() <-chan struct{} { return e.watch.writable() }

// Shutdown stops the server and waits for it; JetStream state is flushed to disk.
func (e *Server) Shutdown() {
	e.watch.shutdown()
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

// natsLogger turns the server's log into slog records. Until start-up is over, a fatal error
// is handed to Start instead, which returns it: logging it too would say it twice. A write error
// of the JetStream store, which the server reports once per stream and again for every message
// it refuses, is handed to the store's watch, which says it once for the whole outage; the
// server's own lines are kept at debug level.
type natsLogger struct {
	log         *slog.Logger
	fatal       chan error
	startedUp   atomic.Bool
	writeFailed func()
}

func (l *natsLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Warnf(format string, v ...any) {
	l.problem(slog.LevelWarn, fmt.Sprintf(format, v...))
}
func (l *natsLogger) Fatalf(format string, v ...any) {
	if !l.startedUp.Load() {
		select {
		case l.fatal <- fmt.Errorf(format, v...):
			return
		default:
		}
	}
	l.log.Error(fmt.Sprintf(format, v...))
}
func (l *natsLogger) Errorf(format string, v ...any) {
	l.problem(slog.LevelError, fmt.Sprintf(format, v...))
}

func (l *natsLogger) problem(level slog.Level, msg string) {
	if storeWriteFault(msg) {
		l.writeFailed()
		level = slog.LevelDebug
	}
	l.log.Log(context.Background(), level, msg)
}
func (l *natsLogger) Debugf(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Tracef(format string, v ...any) {}
