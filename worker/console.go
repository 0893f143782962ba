package worker

import (
	"context"
	"fmt"

	"github.com/webhookd/webhookd/console"
	"github.com/webhookd/webhookd/control"
)

// The web console runs every command through the control plane, and reads the rest from the
// store (openedStore).
var _ console.Backend = (*control.Responder)(nil)

// listenConsole binds --console-addr and reads --console-users, before anything is written:
// a port in use or a users file that cannot be read stops the start at once.
func (w *Worker) listenConsole() error {
	if w.opts.ConsoleAddr == "" {
		return nil
	}
	if w.opts.ConsoleUsers != "" {
		users, err := console.OpenUsersFile(w.opts.ConsoleUsers, w.log.With("component", "console"))
		if err != nil {
			return fmt.Errorf("--console-users: %w", err)
		}
		w.consoleUsers = users
	}
	ln, err := console.Listen(w.opts.ConsoleAddr)
	if err != nil {
		return err
	}
	w.consoleLn = ln
	return nil
}

// consoleAdmin makes the console's users when there is no users file: the generated admin
// when webhookd keeps a data directory (embedded NATS or the standalone store), else none, and
// then the console stays off. It runs once the data directory is ours.
func (w *Worker) consoleAdmin() error {
	if w.consoleLn == nil || w.consoleUsers != nil {
		return nil
	}
	if w.opts.NATS.URL != "" && w.opts.MongoURI != "" {
		w.log.Warn("web console off: with --nats-url and --mongo-uri its users come from --console-users (an htpasswd file of bcrypt entries)",
			"console_addr", w.opts.ConsoleAddr)
		_ = w.consoleLn.Close()
		w.consoleLn = nil
		return nil
	}
	users, path, created, err := console.GeneratedAdmin(w.opts.DataDir)
	if err != nil {
		return fmt.Errorf("web console: %w", err)
	}
	w.consoleUsers = users
	if created {
		w.log.Info("web console: created the user admin; its password is in "+path, "password_file", path)
	} else {
		w.log.Info("web console: the user admin's password is in "+path, "password_file", path)
	}
	return nil
}

// startConsole serves the console on the listener bound at the start.
func (w *Worker) startConsole() error {
	if w.consoleLn == nil {
		return nil
	}
	c, err := console.New(console.Options{
		Backend: w.control,
		Store:   w.store,
		Users:   w.consoleUsers,
		Log:     w.log.With("component", "console"),
		Version: w.opts.Version,
	})
	if err != nil {
		return fmt.Errorf("start web console: %w", err)
	}
	c.Serve(w.consoleLn)
	w.console = c
	return nil
}

// stopConsole stops taking console requests and waits for those in progress and the bulk work
// started from the console (the control plane interrupts that as it stops).
func (w *Worker) stopConsole(ctx context.Context) {
	if w.console != nil {
		if err := w.console.Shutdown(ctx); err != nil {
			w.log.Warn("web console stopped with an error", "error", err)
		}
		w.console = nil
	}
}

// ConsoleAddr is the address the web console listens on; empty when it is off.
func (w *Worker) ConsoleAddr() string {
	if w.consoleLn == nil {
		return ""
	}
	return w.consoleLn.Addr().String()
}
