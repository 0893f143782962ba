// Command webhookctl is the operators' CLI of webhookd: it finds, resends and deletes webhook
// requests, applies and inspects webhook definitions and workflow rules, publishes test events
// and generates secret keys. It talks to webhookd only through NATS (the control messages of
// CONTRACT.md section 6), so whatever it does can also be done with the nats CLI.
//
// Exit codes, for scripts (the same scheme as webhookd's; docs/configuration.md lists both):
//
//	0  done (listen: stopped by SIGINT or SIGTERM, its way to end)
//	1  webhookd refused or failed the command (an error reply: BAD_REQUEST, INVALID_CONFIG, …)
//	2  usage: unknown command or flag, missing argument, unreadable or invalid local file, an
//	   invalid event for publish, an address listen cannot use, a NATS context that cannot be used
//	3  unreachable: cannot connect to NATS, no webhookd answering, timed out, or a publish
//	   that JetStream did not acknowledge
//	4  not found (NOT_FOUND): the request, definition or rule does not exist
//	5  partly done: a resend with rejected or failed requests, a delete with unknown numbers
//	128+n  interrupted by signal n while waiting (130 for SIGINT, 143 for SIGTERM); a second
//	   signal ends webhookctl at once
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		// The next one gets the default action: it ends the process.
		signal.Stop(sigs)
		cancel(interrupted{sig})
	}()
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	os.Exit(code)
}
