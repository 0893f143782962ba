package mongo_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/webhookd/webhookd/internal/mongotest/ferrettest"
	"github.com/webhookd/webhookd/secrets"
	"github.com/webhookd/webhookd/storage/mongo"
	"github.com/webhookd/webhookd/storage/storagetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func opener(uri string) storagetest.Opener {
	var mu sync.Mutex
	dbs := map[*testing.T]string{} // one database per subtest, however often it is opened
	return func(t *testing.T, keys *secrets.Keyring) storagetest.Store {
		mu.Lock()
		db, ok := dbs[t]
		if !ok {
			db = ferrettest.Database(t, uri)
			dbs[t] = db
		}
		mu.Unlock()
		s, err := mongo.Open(t.Context(), uri, db, keys)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := s.Close(ctx); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		return s
	}
}

// TestFerretDB runs the suite on FerretDB, which stands in for MongoDB where no server is at
// hand. Its findAndModify and updates read, then write, so concurrent writers to one document
// can both win there: the concurrency subtests run on real MongoDB only (TestMongoDB).
func TestFerretDB(t *testing.T) {
	uri := ferrettest.URI(t)
	storagetest.Run(t, opener(uri),
		storagetest.SkipConcurrent("FerretDB's findAndModify and updates are not atomic under concurrency"))
}

// TestMongoDB runs the whole suite on the real MongoDB of WEBHOOKD_TEST_MONGO_URI.
func TestMongoDB(t *testing.T) {
	uri, ok := ferrettest.RealMongoURI()
	if !ok {
		t.Skipf("set %s to run the suite on a real MongoDB", ferrettest.EnvMongoURI)
	}
	storagetest.Run(t, opener(uri))
}
