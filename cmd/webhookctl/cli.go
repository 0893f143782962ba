package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"time"

	"github.com/alecthomas/kong"
	"github.com/nats-io/nats.go"

	"github.com/webhookd/webhookd/broker"
	"github.com/webhookd/webhookd/control/controlapi"
)

// globals are the flags every command takes. The connection flags are webhookd's, with the
// same WEBHOOKD_* variables, so one environment serves both; the URL and the context are read
// as the nats CLI reads them too (natsconn.go).
type globals struct {
	NATSURL      string        `name:"nats-url" help:"NATS server URL(s), comma separated (else $$WEBHOOKD_NATS_URL, else $$NATS_URL, else the NATS context's, else nats://127.0.0.1:4222)."`
	NATSContext  string        `name:"nats-context" predictor:"natscontext" help:"The nats CLI context to connect with (else $$NATS_CONTEXT, else the one 'nats context select' chose): its URL, credentials and TLS files stand in for the --nats-* flags not given."`
	NATSCreds    string        `name:"nats-creds" env:"WEBHOOKD_NATS_CREDS" help:"NATS credentials file." type:"path" predictor:"file"`
	NATSNKey     string        `name:"nats-nkey" env:"WEBHOOKD_NATS_NKEY" help:"NATS nkey seed file." type:"path" predictor:"file"`
	NATSUser     string        `name:"nats-user" env:"WEBHOOKD_NATS_USER" help:"NATS user."`
	NATSPassword string        `name:"nats-password" env:"WEBHOOKD_NATS_PASSWORD" help:"NATS password."`
	NATSTLSCA    string        `name:"nats-tls-ca" env:"WEBHOOKD_NATS_TLS_CA" help:"CA certificate file for NATS TLS." type:"path" predictor:"file"`
	NATSTLSCert  string        `name:"nats-tls-cert" env:"WEBHOOKD_NATS_TLS_CERT" help:"Client certificate file for NATS TLS." type:"path" predictor:"file"`
	NATSTLSKey   string        `name:"nats-tls-key" env:"WEBHOOKD_NATS_TLS_KEY" help:"Client key file for NATS TLS." type:"path" predictor:"file"`
	NATSInbox    string        `name:"nats-inbox-prefix" env:"WEBHOOKD_NATS_INBOX_PREFIX" help:"Prefix of the reply subjects webhookctl listens on, its NATS role's own (else the NATS context's, else _INBOX)."`
	Timeout      time.Duration `name:"timeout" env:"WEBHOOKCTL_TIMEOUT" default:"30s" help:"How long to wait for webhookd. During bulk work it is how long webhookd may stay silent: each progress message restarts it."`
	User         string        `name:"user" env:"WEBHOOKCTL_USER" help:"Who you are, recorded with every change (default: your login name)."`
	Output       string        `name:"output" short:"o" enum:"table,json" default:"table" help:"Output: table (for people) or json (for scripts: the reply's result, as webhookd sent it)."`
	Progress     bool          `name:"progress" help:"Show the progress bar of bulk work even when stderr is not a terminal."`
}

type cli struct {
	globals

	Requests    requestsCmd    `cmd:"" help:"Find, resend and delete webhook requests."`
	Apply       applyCmd       `cmd:"" help:"Apply a YAML file of webhook definitions and workflow rules (all or nothing)."`
	Definitions definitionsCmd `cmd:"" aliases:"defs" help:"List, show and delete webhook definitions."`
	Rules       rulesCmd       `cmd:"" help:"List, show and delete workflow rules."`
	Publish     publishCmd     `cmd:"" help:"Publish a test entity change event to CRM_EVENTS."`
	Secret      secretCmd      `cmd:"" help:"Secret keys for webhook definitions."`
	Listen      listenCmd      `cmd:"" help:"Run a local receiver that prints webhooks and verifies their signatures."`
	Completion  completionCmd  `cmd:"" help:"Print the shell completion script for bash, zsh or fish."`

	Version kong.VersionFlag `name:"version" help:"Print the version and exit."`
}

const description = `Operate webhookd: find, resend and delete webhook requests, manage webhook definitions and
workflow rules, publish test events.

Examples:

    webhookctl requests list --state rejected --definition erp-sync
    webhookctl requests resend --state rejected --definition erp-sync --from 24h
    webhookctl apply -f webhooks.yaml
    webhookctl -o json requests get WR-0000001234

Exit codes: 0 done, 1 webhookd refused the command, 2 usage, 3 NATS or webhookd unreachable or
timed out, 4 not found, 5 partly done (some resends or deletes did not succeed), 128+n
interrupted by signal n (130 for Ctrl-C).`

// app is what commands run with: the flags, the streams and a connection made on first use.
type app struct {
	globals
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	nc     *nats.Conn
}

// kongExit stops kong's own exits (after --help or --version) without leaving run.
type kongExit int

// run is main without the process: it parses args, runs the command and returns the exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (code int) {
	var c cli
	parser, err := kong.New(&c,
		kong.Name("webhookctl"),
		kong.Description(description),
		kong.Vars{"version": version},
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(kongExit(code)) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	)
	if err != nil {
		fmt.Fprintln(stderr, "webhookctl:", err)
		return exitUsage
	}
	defer func() {
		if p := recover(); p != nil {
			k, ok := p.(kongExit)
			if !ok {
				panic(p)
			}
			code = int(k)
			if code != exitOK {
				code = exitUsage
			}
		}
	}()
	completeIfAsked(parser, getenv, func(code int) { panic(kongExit(code)) })
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintln(stderr, "webhookctl:", err)
		var pe *kong.ParseError
		if errors.As(err, &pe) && pe.Context != nil {
			fmt.Fprintln(stderr, "Run \"webhookctl "+pe.Context.Command()+" --help\" for usage.")
		}
		return exitUsage
	}
	a := &app{globals: c.globals, ctx: ctx, stdout: stdout, stderr: stderr, getenv: getenv}
	defer a.close()
	err = kctx.Run(a)
	var sig interrupted
	if err != nil && errors.As(context.Cause(ctx), &sig) {
		// What failed was the wait that the signal cut short: say that, not "timed out".
		fmt.Fprintf(stderr, "webhookctl: interrupted by %v\n", sig.sig)
		return sig.exitCode()
	}
	if err != nil && !errors.Is(err, errPartial) {
		a.reportError(err)
	}
	return exitCode(err)
}

// reportError says what went wrong on stderr and, for scripts reading -o json, puts an error
// reply on stdout in the protocol's own form.
func (a *app) reportError(err error) {
	var ce *controlapi.Error
	if errors.As(err, &ce) {
		fmt.Fprintf(a.stderr, "webhookctl: %s: %s\n", ce.Code, ce.Message)
		if a.Output == "json" {
			_ = writeJSON(a.stdout, controlapi.Reply{OK: false, Error: ce})
		}
		return
	}
	fmt.Fprintln(a.stderr, "webhookctl:", err)
}

func (a *app) close() {
	if a.nc != nil {
		a.nc.Close()
	}
}

// conn connects to NATS on first use.
func (a *app) conn() (*nats.Conn, error) {
	if a.nc != nil {
		return a.nc, nil
	}
	target, err := resolveNATS(a.globals, a.getenv)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(a.ctx, a.Timeout)
	defer cancel()
	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	nc, err := broker.Connect(ctx, target.opts, log)
	if err != nil {
		return nil, &unavailableError{err: fmt.Errorf("%w (%s)", err, target.source)}
	}
	a.nc = nc
	return nc, nil
}

// user is --user, or the login name.
func (a *app) user() string {
	if a.User != "" {
		return a.User
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

// call sends a command and decodes its result into out. Bulk commands pass a progress
// callback: they are bounded by --timeout of silence, not in total.
func (a *app) call(command string, req, out any, onProgress func(controlapi.Progress)) (json.RawMessage, error) {
	nc, err := a.conn()
	if err != nil {
		return nil, err
	}
	client := controlapi.NewClient(nc)
	client.Idle = a.Timeout
	ctx := a.ctx
	if onProgress == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.Timeout)
		defer cancel()
	}
	res, err := client.Call(ctx, command, req, onProgress)
	if err != nil {
		return nil, err
	}
	if out != nil {
		if err := json.Unmarshal(res, out); err != nil {
			return nil, fmt.Errorf("%s: unreadable result: %w", command, err)
		}
	}
	return res, nil
}

// json reports whether output is for scripts.
func (a *app) json() bool { return a.Output == "json" }
