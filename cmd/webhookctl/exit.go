package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/webhookd/webhookd/control/controlapi"
)

// Exit codes (see the package documentation).
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitUnavailable = 3
	exitNotFound    = 4
	exitPartial     = 5
)

// usageError is a mistake in the command line or in a local file: exit 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// unavailableError: NATS or webhookd could not be reached: exit 3.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string { return e.err.Error() }
func (e *unavailableError) Unwrap() error { return e.err }

// interrupted is the cause of the context of a command ended by a signal: exit 128 + the
// signal's number, as a shell reports it and as webhookd exits after a second signal.
type interrupted struct{ sig os.Signal }

func (e interrupted) Error() string { return "interrupted by " + e.sig.String() }

func (e interrupted) exitCode() int {
	if s, ok := e.sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return exitError
}

// errPartial: the command ran, but not everything succeeded (what did not is on the output).
var errPartial = errors.New("partly done")

// exitCode maps an error to the process's exit code.
func exitCode(err error) int {
	var ue *usageError
	var ua *unavailableError
	var ce *controlapi.Error
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errPartial):
		return exitPartial
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ce):
		if ce.Code == controlapi.CodeNotFound {
			return exitNotFound
		}
		return exitError
	case errors.As(err, &ua), errors.Is(err, controlapi.ErrNoResponders), errors.Is(err, controlapi.ErrTimeout),
		errors.Is(err, context.DeadlineExceeded):
		return exitUnavailable
	}
	return exitError
}
