// Command webhookctl is the operators' CLI of webhookd: it finds, resends and deletes webhook
// requests, applies and inspects webhook definitions and workflow rules, publishes test events
// and generates secret keys. It talks to webhookd only through NATS (the control messages of
// CONTRACT.md section 6), so whatever it does can also be done with the nats CLI.
//
// Exit codes, for scripts:
//
//	0  done
//	1  webhookd refused or failed the command (an error reply: BAD_REQUEST, INVALID_CONFIG, …)
//	2  usage: unknown command or flag, missing argument, unreadable or invalid local file, an
//	   invalid event for publish, an address listen cannot use
//	3  unreachable: cannot connect to NATS, no webhookd answering, timed out, or a publish
//	   that JetStream did not acknowledge
//	4  not found (NOT_FOUND): the request, definition or rule does not exist
//	5  partly done: a resend with rejected or failed requests, a delete with unknown numbers
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
