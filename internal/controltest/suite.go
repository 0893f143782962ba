// Package controltest is the control plane's black-box test suite: every command, secrets
// masked, audit, paging, deletes, the resend rules and claims, errors and metrics, replicas, and
// two whole workers sharing one store. It runs on a store, with a deliverer for resends: the
// worker's tests run it on SQLite with the worker's delivery path (the one resends take in
// webhookd), and internal/mongotest/control on MongoDB (FerretDB in-process, or a real server),
// in a module of its own so that FerretDB stays out of webhookd's go.mod, with
// internal/fakedeliverer's.
package controltest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/webhookd/webhookd/control"
	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/metrics"
	"github.com/webhookd/webhookd/storage/sqlite"
	"github.com/webhookd/webhookd/storage/storagetest"
	"github.com/webhookd/webhookd/worker"
)

// Store is a kind of store the suite runs on.
type Store struct {
	// Open opens a new, empty store for one test; the suite closes it when the test ends.
	Open func(ctx context.Context, t testing.TB) (storagetest.Store, error)
	// Worker points a whole worker's options at a new, empty store of this kind, for the test of
	// two workers sharing one store; nil keeps the worker standalone (SQLite in its data dir).
	Worker func(t testing.TB, o *worker.Options)
	// NotAtomic, when set, says why claims on this store are not atomic under concurrency; the
	// test of two resends of one request at once is skipped.
	NotAtomic string
	// Small keeps the tests' data small, for a store that scans whole collections: fewer
	// requests to resend by filter, and no tests of pages of a thousand or of 64 KiB bodies.
	Small bool
	// Deliverer makes the resends' attempts of a responder whose metrics are m, its endpoint
	// health kept in store and announced on nc; nil: internal/fakedeliverer's.
	Deliverer func(t testing.TB, store storagetest.Store, nc *nats.Conn, m *metrics.Metrics) control.Deliverer
}

const smallReason = "a store that scans whole collections: its data is kept small"

// SQLite is the standalone store: a new database file in the test's temporary directory.
var SQLite = Store{
	Open: func(ctx context.Context, t testing.TB) (storagetest.Store, error) {
		return sqlite.Open(ctx, filepath.Join(t.TempDir(), "webhookd.db"), testutil.Keyring(t))
	},
}

// Run runs every test of the suite on st, each as a parallel subtest with a store of its own.
func Run(t *testing.T, st Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st Store)
	}{
		{"ConfigCommands", testConfigCommands},
		{"InternalErrorsAndPanics", testInternalErrorsAndPanics},
		{"ErrorCodesAndOrder", testErrorCodesAndOrder},
		{"MetricsCountCommands", testMetricsCountCommands},
		{"ReplicasShareTheQueueGroup", testReplicasShareTheQueueGroup},
		{"ListAndGet", testListAndGet},
		{"RequestsMaskedOnTheWayOut", testRequestsMaskedOnTheWayOut},
		{"PagingStableWhileInserting", testPagingStableWhileInserting},
		{"Delete", testDelete},
		{"ListPageFitsOneMessage", testListPageFitsOneMessage},
		{"ListLargestPageKnowsWhetherMoreExist", testListLargestPageKnowsWhetherMoreExist},
		{"ResendRules", testResendRules},
		{"ConcurrentResends", testConcurrentResends},
		{"ResendTakesOverStaleClaim", testResendTakesOverStaleClaim},
		{"ResendByFilterWithProgress", testResendByFilterWithProgress},
		{"StopInterruptsBulkWork", testStopInterruptsBulkWork},
		{"ConfigChangeReachesEveryReplica", testConfigChangeReachesEveryReplica},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each has a NATS server and a store of its own
			tc.fn(t, st)
		})
	}
}
