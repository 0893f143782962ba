package ferrettest_test

import (
	"context"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.uber.org/goleak"

	"github.com/webhookd/webhookd/internal/mongotest/ferrettest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestURI(t *testing.T) {
	uri := ferrettest.URI(t)
	db := ferrettest.Database(t, uri)
	roundTrip(t, uri, db)
}

func TestMongoURI(t *testing.T) {
	uri := ferrettest.MongoURI(t)
	db := ferrettest.Database(t, uri)
	roundTrip(t, uri, db)
}

func TestParallelServers(t *testing.T) {
	for _, name := range []string{"a", "b", "c"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			uri := ferrettest.URI(t)
			roundTrip(t, uri, ferrettest.DatabaseName(t))
		})
	}
}

func TestDatabaseNamesDiffer(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		n := ferrettest.DatabaseName(t)
		if seen[n] {
			t.Fatalf("DatabaseName repeated %q", n)
		}
		seen[n] = true
	}
}

func roundTrip(t *testing.T, uri, db string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatalf("connect %s: %v", uri, err)
	}
	t.Cleanup(func() {
		if err := client.Disconnect(context.Background()); err != nil {
			t.Errorf("disconnect: %v", err)
		}
	})
	coll := client.Database(db).Collection("things")
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "x"}, {Key: "n", Value: 1}}); err != nil {
		t.Fatalf("insert: %v", err)
	}
	var got struct {
		N int `bson:"n"`
	}
	if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "x"}}).Decode(&got); err != nil {
		t.Fatalf("find: %v", err)
	}
	if got.N != 1 {
		t.Fatalf("n = %d, want 1", got.N)
	}
}
