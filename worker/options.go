package worker

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/webhookd/webhookd/broker"
)

// Options configure a worker; cmd/webhookd fills them from flags and WEBHOOKD_* variables.
type Options struct {
	NATS               broker.Options // empty URL: standalone, embedded NATS server
	EmbeddedNATSListen string
	EmbeddedNATSConfig string // a nats-server configuration file for the embedded server (users, permissions)
	MongoURI           string // empty: standalone store (SQLite under DataDir)
	MongoDatabase      string
	DataDir            string
	ConfigFile         string // a section 4 YAML document applied at start
	HTTPAddr           string
	AllowPrivateNets   bool     // --allow-private-networks: the guard's ranges open, cloud metadata excepted
	AllowDestinations  []string // --allow-destination: CIDRs, addresses and exact host names the guard lets through

	// Now is the clock of the pipeline and the control plane (a secret rotation's grace, retry
	// times, endpoint health); default time.Now. Tests move it forward instead of sleeping.
	Now func() time.Time

	// SecretsKeyFile holds the keys that encrypt secrets at rest (--secrets-key-file). Empty:
	// standalone uses DataDir/secrets.key, created at the first start; with MongoURI, Start refuses.
	SecretsKeyFile string
	// ConsoleAddr is where the web console listens; empty: no console (cmd/webhookd's flag
	// defaults to 127.0.0.1:8081).
	ConsoleAddr string
	// ConsoleUsers is the console's htpasswd file of bcrypt entries; empty: the generated
	// admin (<DataDir>/console-admin-password) when webhookd keeps a data directory.
	ConsoleUsers string

	Version  string
	Logger   *slog.Logger
	Registry *prometheus.Registry // nil: a new one

	// Tuning; zero values take the defaults below.
	EventConcurrency int           // events handled at once per replica (default 256; half of them at most wait on attempts)
	ShutdownTimeout  time.Duration // bound on the whole shutdown when Stop's context has none (default 30s: 25s for in-flight work, 5s to hand back, write and close)
	ConfigPoll       time.Duration // how often the config version is polled (default 1s)
	HealthFlush      time.Duration // how often endpoint health is written (default 10s)
	Reconcile        time.Duration // how often delivery consumers are checked without a config change (default 15s)
	SampleEvery      time.Duration // how often consumer lag and queue depths are sampled (default 5s)
}

func (o *Options) setDefaults() {
	if o.EmbeddedNATSListen == "" {
		o.EmbeddedNATSListen = "127.0.0.1:4222"
	}
	if o.MongoDatabase == "" {
		o.MongoDatabase = "webhookd"
	}
	if o.DataDir == "" {
		o.DataDir = "./data"
	}
	if o.HTTPAddr == "" {
		o.HTTPAddr = ":8080"
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.EventConcurrency <= 0 {
		o.EventConcurrency = 256
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 30 * time.Second
	}
	if o.ConfigPoll <= 0 {
		o.ConfigPoll = time.Second
	}
	if o.Reconcile <= 0 {
		o.Reconcile = 15 * time.Second
	}
	if o.SampleEvery <= 0 {
		o.SampleEvery = 5 * time.Second
	}
	if o.HealthFlush <= 0 {
		o.HealthFlush = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NATS.Name == "" {
		o.NATS.Name = "webhookd"
	}
}
