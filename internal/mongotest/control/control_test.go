package control_test

import (
	"context"
	"testing"

	"go.uber.org/goleak"

	"github.com/webhookd/webhookd/internal/controltest"
	"github.com/webhookd/webhookd/internal/mongotest/ferrettest"
	"github.com/webhookd/webhookd/storage/mongo"
	"github.com/webhookd/webhookd/storage/storagetest"
	"github.com/webhookd/webhookd/worker"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestOnMongoDB runs the control plane's suite on MongoDB: the real server of
// WEBHOOKD_TEST_MONGO_URI, or else FerretDB in-process, whose findAndModify is a read then a
// write (two claims at once can both win there) and which scans whole collections. Resends'
// attempts are internal/fakedeliverer's here (the worker's delivery path is not exported); the
// worker's, on MongoDB, is checked by internal/mongotest/worker's
// TestResendTakesThePipelinesPathOnMongoDB.
func TestOnMongoDB(t *testing.T) {
	st := controltest.Store{
		Open: func(ctx context.Context, t testing.TB) (storagetest.Store, error) {
			uri := ferrettest.MongoURI(t)
			return mongo.Open(ctx, uri, ferrettest.Database(t, uri), storagetest.Keyring(t))
		},
		Worker: func(t testing.TB, o *worker.Options) {
			uri := ferrettest.MongoURI(t)
			o.MongoURI, o.MongoDatabase = uri, ferrettest.Database(t, uri)
		},
	}
	if _, real := ferrettest.RealMongoURI(); !real {
		st.NotAtomic = "FerretDB's findAndModify is not atomic; set WEBHOOKD_TEST_MONGO_URI to run this on MongoDB"
		st.Small = true
	}
	controltest.Run(t, st)
}
