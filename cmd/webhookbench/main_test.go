package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs the receiver when the end-to-end test re-executes this test binary as
// "receiver", as the benchmark re-executes itself.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == receiverCommand {
		os.Exit(receiverMain(os.Args[2:]))
	}
	goleak.VerifyTestMain(m)
}
