package mongo_test

// The store's tests on a server (the storagetest suite, the indexes Open creates) are in
// internal/mongotest/storage/mongo, a module of its own, with the FerretDB they run on.

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/webhookd/webhookd/control"
	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/pipeline"
	"github.com/webhookd/webhookd/storage/mongo"
	"github.com/webhookd/webhookd/storage/storagetest"
)

// Each store is what its users declare they need: the pipeline, the control plane and
// the conformance suite (worker/store.go asserts it too, for the process).
var (
	_ storagetest.Store = (*mongo.Store)(nil)
	_ pipeline.Store    = (*mongo.Store)(nil)
	_ control.Store     = (*mongo.Store)(nil)
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestOpenErrorsHideCredentials(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	// Nothing listens on port 1; the driver gives up when ctx ends.
	s, err := mongo.Open(ctx, "mongodb://webhookd:s3cr3t-pw@127.0.0.1:1/?serverSelectionTimeoutMS=500&authSource=admin", "webhookd", testutil.Keyring(t))
	if err == nil {
		_ = s.Close(t.Context())
		t.Fatal("Open of an unreachable server: no error")
	}
	if strings.Contains(err.Error(), "s3cr3t-pw") {
		t.Errorf("Open error shows the password: %v", err)
	}
	if _, err := mongo.Open(ctx, "mongodb://127.0.0.1:1/", "", testutil.Keyring(t)); err == nil {
		t.Error("Open with no database name: no error")
	}
}
