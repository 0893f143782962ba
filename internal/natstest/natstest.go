// Package natstest runs an in-process nats-server for tests: JetStream on disk under the test's
// temporary directory, a random loopback port, and a shutdown when the test ends, so no test
// leaves a server (or its goroutines, which goleak would report) behind.
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// readyWithin bounds the wait for the server to accept clients. It is generous because tests
// run under -race on a loaded machine; a healthy server is ready in milliseconds.
const readyWithin = 30 * time.Second

// Server starts a nats-server with JetStream, its store under t.TempDir(), on a random port of
// 127.0.0.1, without logs or signal handlers. Each opt may change the options before the server
// is created (credentials, limits, or JetStream off). The server is shut down, and waited for,
// when the test ends.
func Server(t testing.TB, opts ...func(*server.Options)) *server.Server {
	t.Helper()
	o := &server.Options{
		Host:      "127.0.0.1",
		Port:      server.RANDOM_PORT,
		JetStream: true,
		StoreDir:  t.TempDir(),
		NoLog:     true,
		NoSigs:    true, // signals belong to the test binary, not to a server inside it
	}
	for _, f := range opts {
		f(o)
	}
	srv, err := server.NewServer(o)
	if err != nil {
		t.Fatalf("natstest: create nats-server on %s: %v", o.Host, err)
	}
	srv.Start() // it starts its own goroutines and returns
	// Registered after t.TempDir's cleanup, so it runs first: the store is closed before removal.
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	if !srv.ReadyForConnections(readyWithin) {
		t.Fatalf("natstest: nats-server on %s not ready after %s", o.Host, readyWithin)
	}
	return srv
}

// URL starts a server as Server does and returns the URL clients connect to.
func URL(t testing.TB, opts ...func(*server.Options)) string {
	t.Helper()
	return Server(t, opts...).ClientURL()
}

// Connect connects to the server at url and returns the connection and its JetStream context.
// The connection is closed when the test ends, before the server (started earlier) stops.
func Connect(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("natstest: connect to %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("natstest: JetStream context on %s: %v", url, err)
	}
	return nc, js
}
