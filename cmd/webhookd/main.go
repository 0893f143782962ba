// Command webhookd is the worker: it consumes entity change events, matches workflow rules,
// dispatches signed webhooks and logs webhook requests. main only parses flags, builds the
// logger and handles signals; everything else is worker.Run.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/webhookd/webhookd/broker"
	"github.com/webhookd/webhookd/worker"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type cli struct {
	NATSURL            string           `name:"nats-url" env:"WEBHOOKD_NATS_URL" help:"NATS server URL(s). Empty: standalone mode with an embedded NATS server."`
	MongoURI           string           `name:"mongo-uri" env:"WEBHOOKD_MONGO_URI" help:"MongoDB URI. Empty: standalone store (SQLite) under --data-dir."`
	MongoDatabase      string           `name:"mongo-database" env:"WEBHOOKD_MONGO_DATABASE" default:"webhookd" help:"MongoDB database name."`
	DataDir            string           `name:"data-dir" env:"WEBHOOKD_DATA_DIR" default:"./data" help:"Files of the embedded NATS server and the standalone store."`
	EmbeddedNATSListen string           `name:"embedded-nats-listen" env:"WEBHOOKD_EMBEDDED_NATS_LISTEN" default:"127.0.0.1:4222" help:"Where the embedded NATS server listens."`
	Config             string           `name:"config" env:"WEBHOOKD_CONFIG" type:"existingfile" help:"YAML file of webhook definitions and workflow rules, applied at start."`
	HTTPAddr           string           `name:"http-addr" env:"WEBHOOKD_HTTP_ADDR" default:":8080" help:"Address of /metrics, /healthz and /readyz."`
	AllowPrivate       bool             `name:"allow-private-networks" env:"WEBHOOKD_ALLOW_PRIVATE_NETWORKS" help:"Allow webhook URLs that resolve to loopback, private, link-local or unspecified addresses."`
	NATSCreds          string           `name:"nats-creds" env:"WEBHOOKD_NATS_CREDS" help:"NATS credentials file."`
	NATSNKey           string           `name:"nats-nkey" env:"WEBHOOKD_NATS_NKEY" help:"NATS nkey seed file."`
	NATSUser           string           `name:"nats-user" env:"WEBHOOKD_NATS_USER" help:"NATS user."`
	NATSPassword       string           `name:"nats-password" env:"WEBHOOKD_NATS_PASSWORD" help:"NATS password."`
	NATSTLSCA          string           `name:"nats-tls-ca" env:"WEBHOOKD_NATS_TLS_CA" help:"CA certificate file for NATS TLS."`
	NATSTLSCert        string           `name:"nats-tls-cert" env:"WEBHOOKD_NATS_TLS_CERT" help:"Client certificate file for NATS TLS."`
	NATSTLSKey         string           `name:"nats-tls-key" env:"WEBHOOKD_NATS_TLS_KEY" help:"Client key file for NATS TLS."`
	LogFormat          string           `name:"log-format" env:"WEBHOOKD_LOG_FORMAT" default:"json" enum:"json,text" help:"Log format: json or text."`
	Version            kong.VersionFlag `name:"version" help:"Print the version and exit."`
}

func main() {
	var c cli
	kong.Parse(&c,
		kong.Name("webhookd"),
		kong.Description("Turns entity change events from NATS JetStream into signed, retried webhooks, and logs every delivery."),
		kong.Vars{"version": version},
		kong.UsageOnError(),
	)

	var handler slog.Handler = slog.NewJSONHandler(os.Stderr, nil)
	if c.LogFormat == "text" {
		handler = slog.NewTextHandler(os.Stderr, nil)
	}
	log := slog.New(handler)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	err := worker.Run(ctx, worker.Options{
		NATS: broker.Options{
			URL: c.NATSURL, Creds: c.NATSCreds, NKey: c.NATSNKey, User: c.NATSUser, Password: c.NATSPassword,
			TLSCA: c.NATSTLSCA, TLSCert: c.NATSTLSCert, TLSKey: c.NATSTLSKey, Name: "webhookd",
		},
		EmbeddedNATSListen: c.EmbeddedNATSListen,
		MongoURI:           c.MongoURI,
		MongoDatabase:      c.MongoDatabase,
		DataDir:            c.DataDir,
		ConfigFile:         c.Config,
		HTTPAddr:           c.HTTPAddr,
		AllowPrivateNets:   c.AllowPrivate,
		Version:            version,
		Logger:             log,
	})
	if err != nil {
		log.Error("webhookd failed", "error", err)
		fmt.Fprintln(os.Stderr, "webhookd:", err)
		os.Exit(1)
	}
}
