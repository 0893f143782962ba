package mongo_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/webhookd/webhookd/internal/mongotest/ferrettest"
	"github.com/webhookd/webhookd/storage/mongo"
	"github.com/webhookd/webhookd/storage/storagetest"
)

type indexInfo struct {
	Name   string `bson:"name"`
	Unique bool   `bson:"unique"`
	Key    bson.D `bson:"key"`
}

// TestOpenCreatesIndexes opens the same database twice (index creation is idempotent) and checks
// the indexes the queries rely on.
func TestOpenCreatesIndexes(t *testing.T) {
	uri := ferrettest.MongoURI(t)
	db := ferrettest.Database(t, uri)
	for range 2 {
		s, err := mongo.Open(t.Context(), uri, db, storagetest.Keyring(t))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if err := s.Close(t.Context()); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	client, err := driver.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	want := map[string][]string{
		mongo.CollRequests: {"number_unique", "webhook_id_unique", "seq", "state_seq", "entity_entity_id_seq",
			"entity_id_seq", "event_id_seq", "definition_seq", "rule_seq", "created_at"},
		mongo.CollInvalidEvents: {"msg_id_unique", "received_at"},
		mongo.CollDefinitions:   {"id_unique"},
		mongo.CollRules:         {"id_unique", "webhook_definitions"},
		mongo.CollAudit:         {"at"},
		mongo.CollHealth:        {"id_unique"},
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	for coll, names := range want {
		cur, err := client.Database(db).Collection(coll).Indexes().List(ctx)
		if err != nil {
			t.Fatalf("list indexes of %s: %v", coll, err)
		}
		var got []indexInfo
		if err := cur.All(ctx, &got); err != nil {
			t.Fatalf("list indexes of %s: %v", coll, err)
		}
		for _, n := range names {
			i := slices.IndexFunc(got, func(g indexInfo) bool { return g.Name == n })
			if i < 0 {
				t.Errorf("%s has no index %s (has %v)", coll, n, got)
				continue
			}
			if u := strings.HasSuffix(n, "_unique"); got[i].Unique != u {
				t.Errorf("%s index %s: unique = %v, want %v", coll, n, got[i].Unique, u)
			}
		}
	}
}
