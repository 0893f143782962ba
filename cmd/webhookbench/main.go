// Command webhookbench measures webhookd end to end at its defaults and, in the same run and
// against the same receiver, a plain Go HTTP client: the headline is the ratio of the two.
//
// It builds the real webhookd binary from this repository, starts it standalone (embedded NATS,
// SQLite store, a fresh temporary --data-dir) with one webhook definition at default settings,
// starts a receiver in a separate process (this binary, re-executed as "webhookbench receiver"),
// publishes events to the embedded NATS server and waits until every delivery is received and
// its webhook request stored. Two more phases follow: isolation (the definition beside one that
// answers 503 and one that hangs, added through the control plane) and definitions (a fresh
// webhookd with many definitions: start-up, idle cost, a trickle, configuration changes). See
// docs/performance.md.
//
//	cd cmd/webhookbench && go run . [flags]
//
// Everything runs on 127.0.0.1; webhookd and the receiver are stopped on exit and on Ctrl-C,
// and the temporary directory is removed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == receiverCommand {
		os.Exit(receiverMain(os.Args[2:]))
	}
	opts, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		os.Exit(2) // the error and the usage are printed
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := Run(ctx, opts, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "webhookbench:", err)
		stop()
		os.Exit(1)
	}
	if err := writeReport(os.Stdout, rep, opts.Output); err != nil {
		fmt.Fprintln(os.Stderr, "webhookbench:", err)
		stop()
		os.Exit(1)
	}
}
