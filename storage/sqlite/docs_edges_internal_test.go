package sqlite

import (
	"reflect"
	"testing"
	"time"

	"github.com/webhookd/webhookd/config"
)

// PreviousSecretUntil is only in replies: a definition that carries one is stored without it, and
// a row holding one (none does: SealDefinition always dropped it) reads without it.
func TestPreviousSecretUntilIsNotStored(t *testing.T) {
	t.Parallel()
	got, err := encodeRawDefinition(fullDefinition())
	if err != nil {
		t.Fatal(err)
	}
	want, err := encodeRawDefinition(storedDefinition())
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("stored with previous_secret_until:\n got %s\nwant %s", got, want)
	}
	d, err := decodeRawDefinition([]byte(`{"id":"d","previous_secret_until":"2026-03-15T08:26:53.589Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	if d.PreviousSecretUntil != nil {
		t.Errorf("read previous_secret_until %v from a row", d.PreviousSecretUntil)
	}
}

// A row's doc is read as it is: a key it does not hold reads as zero, in the retry policy too,
// where config's decoding would fill in the section 4 defaults (every row the store wrote holds
// all four retry keys).
func TestStoredDocsTakeNoDefaults(t *testing.T) {
	t.Parallel()
	d, err := decodeRawDefinition([]byte(`{"id":"d","retry":{"max_attempts":3}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &config.Definition{ID: "d", Retry: config.RetryPolicy{MaxAttempts: 3}}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("read as %+v, want %+v", d, want)
	}
	r, err := decodeRule([]byte(`{"id":"r"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r, &config.Rule{ID: "r"}) {
		t.Errorf("rule read as %+v, want only its id (not active)", r)
	}
}

// Times are read in UTC whatever offset a row holds them with.
func TestStoredTimesReadInUTC(t *testing.T) {
	t.Parallel()
	const at = "2026-03-14T10:26:53.589+01:00"
	d, err := decodeRawDefinition([]byte(`{"secret_rotated_at":"` + at + `","disabled_at":"` + at + `","updated_at":"` + at + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]*time.Time{"secret_rotated_at": d.SecretRotatedAt, "disabled_at": d.DisabledAt, "updated_at": &d.UpdatedAt} {
		if got == nil || !reflect.DeepEqual(*got, docTime) {
			t.Errorf("%s read as %v, want %v", name, got, docTime)
		}
	}
	r, err := decodeRule([]byte(`{"updated_at":"` + at + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.UpdatedAt, docTime) {
		t.Errorf("rule's updated_at read as %v, want %v", r.UpdatedAt, docTime)
	}
}
