//go:build pprof

package main

// Built with -tags pprof, webhookd serves net/http/pprof on PPROF_ADDR (a loopback
// address such as 127.0.0.1:6060), to profile the real binary under cmd/webhookbench
// (docs/performance.md). Release builds have no such endpoint.

import (
	"net/http"
	_ "net/http/pprof" // the profiling handlers, on http.DefaultServeMux
	"os"
)

func init() {
	addr := os.Getenv("PPROF_ADDR")
	if addr == "" {
		return
	}
	go func() { _ = http.ListenAndServe(addr, nil) }() //nolint:gosec // a developer's build, on the address they chose
}
