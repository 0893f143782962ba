package mongo

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/webhookd/webhookd/config"
)

// The documents keep durations as their section 4 strings, as they did when config.Duration
// marshalled itself, and read them back.
func TestDurationsAreStoredAsStrings(t *testing.T) {
	t.Parallel()
	def := config.Definition{ID: "erp-sync", Timeout: config.Duration(10 * time.Second),
		DisableAfter: config.Duration(72 * time.Hour),
		Retry:        config.RetryPolicy{InitialInterval: config.Duration(1500 * time.Millisecond), MaxInterval: config.Duration(10 * time.Minute)}}
	var buf bytes.Buffer
	enc := bson.NewEncoder(bson.NewDocumentWriter(&buf))
	enc.SetRegistry(registry())
	if err := enc.Encode(def); err != nil {
		t.Fatalf("encode: %v", err)
	}
	doc := bson.Raw(buf.Bytes())
	for path, want := range map[string]string{"timeout": "10s", "disable_after": "72h", "retry.initial_interval": "1.5s", "retry.max_interval": "10m"} {
		v, err := doc.LookupErr(splitPath(path)...)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if s, ok := v.StringValueOK(); !ok || s != want {
			t.Errorf("%s = %s, want the string %q", path, v, want)
		}
	}

	dec := bson.NewDecoder(bson.NewDocumentReader(bytes.NewReader(buf.Bytes())))
	dec.SetRegistry(registry())
	var got config.Definition
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if got.Timeout != def.Timeout || got.DisableAfter != def.DisableAfter || got.Retry != def.Retry {
		t.Errorf("decoded %+v, want %+v", got, def)
	}

	bad, _ := bson.Marshal(bson.D{{Key: "timeout", Value: 10}})
	dec = bson.NewDecoder(bson.NewDocumentReader(bytes.NewReader(bad)))
	dec.SetRegistry(registry())
	if err := dec.Decode(&got); err == nil {
		t.Error("a duration stored as a number was read without an error")
	}
}

func splitPath(p string) []string { return strings.Split(p, ".") }
