// Command webhookd is the worker: it consumes entity change events, matches workflow rules,
// dispatches signed webhooks and logs webhook requests. main only parses flags, builds the
// logger and handles signals; everything else is worker.Start and Worker.Stop.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/webhookd/webhookd/broker"
	"github.com/webhookd/webhookd/delivery"
	"github.com/webhookd/webhookd/worker"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type cli struct {
	NATSURL            string           `name:"nats-url" env:"WEBHOOKD_NATS_URL" help:"NATS server URL(s). Empty: standalone mode with an embedded NATS server."`
	MongoURI           string           `name:"mongo-uri" env:"WEBHOOKD_MONGO_URI" help:"MongoDB URI. Empty: standalone store (SQLite) under --data-dir."`
	MongoDatabase      string           `name:"mongo-database" env:"WEBHOOKD_MONGO_DATABASE" default:"webhookd" help:"MongoDB database name."`
	DataDir            string           `name:"data-dir" env:"WEBHOOKD_DATA_DIR" default:"./data" help:"Files of the embedded NATS server and the standalone store."`
	EmbeddedNATSConfig string           `name:"embedded-nats-config" env:"WEBHOOKD_EMBEDDED_NATS_CONFIG" type:"existingfile" help:"A nats-server configuration file (accounts, users, permissions) for the embedded NATS server; required when --embedded-nats-listen is not a loopback address. webhookd connects to it with the --nats-* user."`
	EmbeddedNATSListen string           `name:"embedded-nats-listen" env:"WEBHOOKD_EMBEDDED_NATS_LISTEN" default:"127.0.0.1:4222" help:"Where the embedded NATS server listens."`
	Config             string           `name:"config" env:"WEBHOOKD_CONFIG" type:"existingfile" help:"YAML file of webhook definitions and workflow rules, applied at start."`
	HTTPAddr           string           `name:"http-addr" env:"WEBHOOKD_HTTP_ADDR" default:":8080" help:"Address of /metrics, /healthz and /readyz."`
	AllowPrivate       bool             `name:"allow-private-networks" env:"WEBHOOKD_ALLOW_PRIVATE_NETWORKS" help:"Allow webhook URLs that resolve to loopback, private, link-local and other blocked addresses (cloud metadata excepted). Prefer --allow-destination."`
	AllowDestination   []string         `name:"allow-destination" env:"WEBHOOKD_ALLOW_DESTINATION" sep:"," placeholder:"CIDR|HOST" help:"A CIDR (10.20.0.0/16, fd00:1::/64), an address or an exact host name that deliveries may reach although the destination guard would block it; repeatable, comma-separated in the environment. Cloud metadata addresses stay blocked unless named exactly."`
	NATSCreds          string           `name:"nats-creds" env:"WEBHOOKD_NATS_CREDS" help:"NATS credentials file."`
	NATSNKey           string           `name:"nats-nkey" env:"WEBHOOKD_NATS_NKEY" help:"NATS nkey seed file."`
	NATSUser           string           `name:"nats-user" env:"WEBHOOKD_NATS_USER" help:"NATS user."`
	NATSPassword       string           `name:"nats-password" env:"WEBHOOKD_NATS_PASSWORD" help:"NATS password."`
	NATSTLSCA          string           `name:"nats-tls-ca" env:"WEBHOOKD_NATS_TLS_CA" help:"CA certificate file for NATS TLS."`
	NATSTLSCert        string           `name:"nats-tls-cert" env:"WEBHOOKD_NATS_TLS_CERT" help:"Client certificate file for NATS TLS."`
	NATSTLSKey         string           `name:"nats-tls-key" env:"WEBHOOKD_NATS_TLS_KEY" help:"Client key file for NATS TLS."`
	NATSInboxPrefix    string           `name:"nats-inbox-prefix" env:"WEBHOOKD_NATS_INBOX_PREFIX" default:"_INBOX" help:"Prefix of every reply subject webhookd listens on, so NATS permissions can keep each role's replies its own."`
	SecretsKeyFile     string           `name:"secrets-key-file" env:"WEBHOOKD_SECRETS_KEY_FILE" help:"The keys that encrypt secrets at rest, one a line: <key id> <base64 of 32 random bytes>; the first encrypts, every one decrypts. Required with --mongo-uri; standalone default: <data-dir>/secrets.key, created at the first start. Make one with 'webhookctl secret keygen'."`
	ConsoleAddr        string           `name:"console-addr" env:"WEBHOOKD_CONSOLE_ADDR" default:"127.0.0.1:8081" help:"Where the web console listens. Empty: no console."`
	ConsoleUsers       string           `name:"console-users" env:"WEBHOOKD_CONSOLE_USERS" type:"existingfile" help:"The web console's users: an htpasswd file of bcrypt entries (htpasswd -B), re-read when it changes. Standalone without it: the user admin, password in <data-dir>/console-admin-password."`
	LogFormat          string           `name:"log-format" env:"WEBHOOKD_LOG_FORMAT" default:"json" enum:"json,text" help:"Log format: json or text."`
	Version            kong.VersionFlag `name:"version" help:"Print the version and exit."`
}

// Validate is kong's hook after parsing: a bad --allow-destination entry is a usage error.
func (c *cli) Validate() error {
	_, err := delivery.ParseAllowList(c.AllowDestination)
	return err
}

// Exit codes, the same scheme as webhookctl's: 0 done, 1 failed, 2 a usage error. A shutdown
// hurried by a second signal exits with 128 + the signal's number, as a shell reports it.
const (
	exitError = 1
	exitUsage = 2
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	var c cli
	parser, err := kong.New(&c,
		kong.Name("webhookd"),
		kong.Description("Turns entity change events from NATS JetStream into signed, retried webhooks, and logs every delivery."),
		kong.Vars{"version": version},
	)
	if err != nil {
		panic(err) // the cli struct itself is wrong: a programming error
	}
	if _, err := parser.Parse(args); err != nil {
		// The mistake first and alone; the whole usage would bury it.
		fmt.Fprintf(os.Stderr, "webhookd: %v\nRun 'webhookd --help' for usage.\n", err)
		return exitUsage
	}

	var handler slog.Handler = slog.NewJSONHandler(os.Stderr, nil)
	if c.LogFormat == "text" {
		handler = slog.NewTextHandler(os.Stderr, nil)
	}
	log := slog.New(handler)

	// The first SIGINT or SIGTERM stops gracefully. A second one hurries the shutdown: in-flight
	// work is handed back at once and the process exits within seconds (River's Stop, then
	// StopAndCancel). A third exits on the spot. Nothing is lost either way: a message is
	// acknowledged only after its document is written, and JetStream redelivers the rest.
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	hurryCtx, hurry := context.WithCancel(context.Background())
	defer hurry()
	sigs := make(chan os.Signal, 3)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	finished := make(chan struct{})
	defer close(finished)
	var lastSignal atomic.Value
	go func() {
		for n := 0; ; n++ {
			var sig os.Signal
			select {
			case sig = <-sigs:
			case <-finished:
				return
			}
			lastSignal.Store(sig)
			switch n {
			case 0:
				// Only main knows of signals, so it says what a second one does.
				log.Info("stopping gracefully; send the signal again to hand back in-flight work and exit at once (nothing is lost: unacknowledged work is redelivered)",
					"signal", sig.String())
				cancel(fmt.Errorf("received %v", sig))
			case 1:
				log.Warn("second signal: handing back in-flight work and exiting; send it again to exit on the spot",
					"signal", sig.String())
				hurry()
			default:
				os.Exit(signalExit(sig))
			}
		}
	}()

	w, err := worker.Start(ctx, worker.Options{
		NATS: broker.Options{
			URL: c.NATSURL, Creds: c.NATSCreds, NKey: c.NATSNKey, User: c.NATSUser, Password: c.NATSPassword,
			TLSCA: c.NATSTLSCA, TLSCert: c.NATSTLSCert, TLSKey: c.NATSTLSKey, Name: "webhookd",
			InboxPrefix: c.NATSInboxPrefix,
		},
		EmbeddedNATSListen: c.EmbeddedNATSListen,
		EmbeddedNATSConfig: c.EmbeddedNATSConfig,
		MongoURI:           c.MongoURI,
		MongoDatabase:      c.MongoDatabase,
		DataDir:            c.DataDir,
		ConfigFile:         c.Config,
		SecretsKeyFile:     c.SecretsKeyFile,
		HTTPAddr:           c.HTTPAddr,
		AllowPrivateNets:   c.AllowPrivate,
		AllowDestinations:  c.AllowDestination,
		ConsoleAddr:        c.ConsoleAddr,
		ConsoleUsers:       c.ConsoleUsers,
		Version:            version,
		Logger:             log,
	})
	if err != nil {
		if ctx.Err() != nil {
			// Asked to stop while starting: Start undid what it began and took no work.
			log.Info("webhookd stopped during start-up", "reason", context.Cause(ctx).Error())
			return 0
		}
		// Once, on the log: it goes where every other line of webhookd goes.
		log.Error("webhookd failed", "error", err)
		return exitError
	}
	<-ctx.Done()
	if err := w.Stop(hurryCtx); err != nil {
		log.Error("webhookd stopped with an error", "error", err)
		return exitError
	}
	if hurryCtx.Err() != nil {
		return signalExit(lastSignal.Load().(os.Signal))
	}
	return 0
}

// signalExit is the exit code of a process ended by sig, as a shell reports it.
func signalExit(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return exitError
}
