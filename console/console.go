package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/storage"
)

// Backend runs control commands: the worker's *control.Responder (its Exec), so that every
// search, resend, delete and configuration change goes through the control plane's own code.
type Backend interface {
	Exec(ctx context.Context, command string, request []byte, onProgress func(controlapi.Progress)) (json.RawMessage, error)
}

// Store is what the console reads from the store where the control plane has no command. It
// changes nothing.
type Store interface {
	// CountRequests gives the summary page's counts by state and its chart.
	CountRequests(ctx context.Context, f storage.Filter) (int64, error)
	// ListInvalidEvents gives the invalid events page.
	ListInvalidEvents(ctx context.Context, limit int) ([]storage.InvalidEvent, error)
	// GetDefinition gives the whole definition (its secret included, never shown) that a
	// reactivation applies again, active, through config.apply.
	GetDefinition(ctx context.Context, id string) (*config.Definition, error)
}

// Options configure a Console.
type Options struct {
	Backend Backend
	Store   Store
	Users   *Users
	Log     *slog.Logger // nil: discarded
	Version string

	SessionIdle   time.Duration // a session unused for this long ends; default 1h
	SessionMaxAge time.Duration // a session ends this long after sign-in; default 12h
	// CommandTimeout bounds a command the console waits for in a page (a list, a resend of one
	// request); default 60s. Bulk work by filter runs in the background, unbounded.
	CommandTimeout time.Duration
	Now            func() time.Time
}

func (o *Options) setDefaults() {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = time.Hour
	}
	if o.SessionMaxAge <= 0 {
		o.SessionMaxAge = 12 * time.Hour
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = 60 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Version == "" {
		o.Version = "dev"
	}
}

// Console is the web console's http.Handler.
type Console struct {
	o        Options
	handler  http.Handler
	sessions *sessions
	throttle *throttle
	jobs     *jobs
	// bcryptSlots bounds the password checks running at once: each costs tens of milliseconds
	// of CPU, and a flood of sign-ins must not starve deliveries.
	bcryptSlots chan struct{}

	srv     *http.Server
	serving sync.WaitGroup
}

// New returns the console. Backend, Store and Users are required.
func New(o Options) (*Console, error) {
	if o.Backend == nil || o.Store == nil || o.Users == nil {
		return nil, errors.New("console: Backend, Store and Users are required")
	}
	o.setDefaults()
	c := &Console{
		o:           o,
		sessions:    newSessions(o.SessionIdle, o.SessionMaxAge, o.Now),
		throttle:    newThrottle(o.Now),
		jobs:        newJobs(),
		bcryptSlots: make(chan struct{}, 2),
	}
	c.handler = c.routes()
	return c, nil
}

// ServeHTTP serves the console.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.handler.ServeHTTP(w, r) }

// Serve serves the console on ln until Shutdown; it returns at once.
func (c *Console) Serve(ln net.Listener) {
	c.srv = &http.Server{
		Handler:           c,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(c.o.Log.Handler(), slog.LevelDebug),
	}
	c.serving.Add(1)
	go func() {
		defer c.serving.Done()
		if err := c.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			c.o.Log.Error("console server stopped", "error", err)
		}
	}()
}

// Shutdown stops taking requests, lets those in progress finish and waits for bulk work started
// from the console, within ctx; then it cuts what is left short. The control plane's own Stop
// interrupts bulk work at its next item, so it ends soon after webhookd begins to stop.
func (c *Console) Shutdown(ctx context.Context) error {
	var err error
	if c.srv != nil {
		if err = c.srv.Shutdown(ctx); err != nil {
			err = errors.Join(fmt.Errorf("stop the console server: %w", err), c.srv.Close())
		}
		c.serving.Wait()
	}
	c.jobs.stop(ctx)
	return err
}

// Listen opens the console's listener; the error names the flag and the address.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on --console-addr %q: %w", addr, err)
	}
	return ln, nil
}
