package mongo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	driver "go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/internal/mongotest/ferrettest"
	"github.com/webhookd/webhookd/storage/mongo"
	"github.com/webhookd/webhookd/storage/storagetest"
)

// rawDocuments returns every document of every collection of db, as extended JSON, read with the
// driver (not through the store).
func rawDocuments(t *testing.T, uri, db string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	client, err := driver.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer func() { _ = client.Disconnect(context.Background()) }()
	names, err := client.Database(db).ListCollectionNames(ctx, bson.D{})
	if err != nil {
		t.Fatalf("list collections: %v", err)
	}
	var b strings.Builder
	for _, name := range names {
		cur, err := client.Database(db).Collection(name).Find(ctx, bson.D{})
		if err != nil {
			t.Fatalf("find in %s: %v", name, err)
		}
		var docs []bson.Raw
		if err := cur.All(ctx, &docs); err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		for _, d := range docs {
			b.WriteString(name + ": " + d.String() + "\n")
		}
	}
	return b.String()
}

// openSecretsStore opens a store on a new database of the test server, under the test keyring,
// closed when the test ends.
func openSecretsStore(t *testing.T) (uri, db string, s *mongo.Store) {
	t.Helper()
	uri = ferrettest.MongoURI(t)
	db = ferrettest.Database(t, uri)
	s, err := mongo.Open(t.Context(), uri, db, storagetest.Keyring(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return uri, db, s
}

// TestNoSecretInTheDocuments reads the raw documents of the store's database with the driver
// after definitions with every kind of secret were applied, rotated and read back: none of them
// is there in clear, while a header that is no credential is.
func TestNoSecretInTheDocuments(t *testing.T) {
	uri, db, s := openSecretsStore(t)
	want := storagetest.WriteSecrets(t, s)
	raw := rawDocuments(t, uri, db)
	if !strings.Contains(raw, "def-secrets") || !strings.Contains(raw, `"X-Api-Version": "2"`) {
		t.Fatalf("the documents do not hold the definition at all:\n%s", raw)
	}
	for _, secret := range want {
		if strings.Contains(raw, secret) {
			t.Errorf("the documents hold %q in clear", secret)
		}
	}
	if !strings.Contains(raw, "enc:v1:old:") {
		t.Error("the documents hold no sealed value")
	}
	t.Logf("%d bytes of documents searched for %d secrets: none found", len(raw), len(want))
}

// TestUpgradeFromClearText: a definition written in clear (before encryption at rest) is read
// as it is, and ReencryptSecrets seals it, leaving its disabled state alone.
func TestUpgradeFromClearText(t *testing.T) {
	uri, db, s := openSecretsStore(t)
	const secret = storagetest.LegacySecretKey
	client, err := driver.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Disconnect(context.Background()) }()
	_, err = client.Database(db).Collection(mongo.CollDefinitions).InsertOne(t.Context(), bson.D{
		{Key: "id", Value: "legacy"}, {Key: "name", Value: "Legacy"}, {Key: "url", Value: "https://erp.example.com/hooks"},
		{Key: "method", Value: "POST"}, {Key: "secret_key", Value: secret},
		{Key: "headers", Value: bson.D{{Key: "Authorization", Value: storagetest.LegacyAuthorization}, {Key: "X-Api-Version", Value: "2"}}},
		{Key: "logging", Value: "all"}, {Key: "timeout", Value: "10s"}, {Key: "max_in_flight", Value: 32},
		{Key: "active", Value: false}, {Key: "disabled_reason", Value: "410 Gone"},
	})
	if err != nil {
		t.Fatal(err)
	}
	storagetest.CheckUpgradeFromClearText(t, s, func(d2 *config.Definition) bool {
		return !d2.Active && d2.DisabledReason == "410 Gone"
	})
	raw := rawDocuments(t, uri, db)
	for _, v := range []string{secret[6:], "legacy-token-0123456789"} {
		if strings.Contains(raw, v) {
			t.Errorf("after re-encryption the documents still hold %q in clear", v)
		}
	}
}
