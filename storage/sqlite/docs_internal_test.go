package sqlite

import (
	"database/sql"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/internal/testutil"
)

// Databases already hold webhook_definitions and workflow_rules rows, their doc a JSON text, and
// DeleteDefinition's query reads $.webhook_definitions of a rule: a row's keys, duration strings,
// time format and left-out fields must not change. Each golden string below is a doc as the
// store writes it; the store reads it back to the value it was made from.

// docTime is a time as the store keeps it (milliseconds, UTC: norm).
var docTime = time.Date(2026, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

func fullDefinition() config.Definition {
	rotated, disabled, until := docTime.Add(-time.Hour), docTime.Add(-time.Minute), docTime.Add(23*time.Hour)
	return config.Definition{
		ID:           "erp-sync",
		Name:         "ERP customer sync",
		URL:          "https://erp.example.com/hooks/crm",
		Method:       "PUT",
		SecretKey:    "enc:v1:k1:c2VhbGVkLXNlY3JldA",
		Headers:      map[string]string{"Authorization": "enc:v1:k1:c2VhbGVkLWF1dGg", "X-Api-Version": "2"},
		FieldsSet:    &config.FieldsSet{Name: "customer-basic", Fields: []string{"name", "address.city"}},
		Logging:      config.LoggingRejectedOnly,
		Timeout:      config.Duration(10 * time.Second),
		Retry:        config.RetryPolicy{MaxAttempts: 6, InitialInterval: config.Duration(1500 * time.Millisecond), MaxInterval: config.Duration(10 * time.Minute), Multiplier: 2.5},
		MaxInFlight:  32,
		MaxQueued:    100_000,
		RateLimit:    12.5,
		DisableAfter: config.Duration(72 * time.Hour),

		SecretRotationGrace: config.Duration(24*time.Hour + 30*time.Minute),
		Active:              true,
		PreviousSecretKey:   "enc:v1:k1:cHJldmlvdXMtc2VjcmV0",
		SecretRotatedAt:     &rotated,
		PreviousSecretUntil: &until, // only in replies: SealDefinition drops it, so it is never stored
		DisabledReason:      "410 Gone",
		DisabledAt:          &disabled,
		UpdatedAt:           docTime,
		UpdatedBy:           "alice",
	}
}

// storedDefinition is fullDefinition as the store is given it to write: sealed
// (storage.SealDefinition), so without PreviousSecretUntil.
func storedDefinition() config.Definition {
	d := fullDefinition()
	d.PreviousSecretUntil = nil
	return d
}

func fullRule() config.Rule {
	return config.Rule{
		ID:                 "customer-activated",
		Name:               "Customer activated",
		Entity:             "customer",
		Actions:            []string{"created", "updated"},
		Condition:          `event.data.status == "active" && event.data.name != "<none>"`,
		WebhookDefinitions: []string{"erp-sync", "crm-mirror"},
		Active:             true,
		UpdatedAt:          docTime,
		UpdatedBy:          "alice",
	}
}

func TestStoredDocsKeepTheirShape(t *testing.T) {
	t.Parallel()
	var zeroTime time.Time
	cases := []struct {
		name string
		// write returns the doc the store writes for a value.
		write func() (string, error)
		// golden is the doc.
		golden string
		// read returns the value the store reads from golden; nil: the doc does not read back
		// to what it was made from (an empty map, left out, reads as nil).
		read func(golden string) (any, error)
		want any
	}{
		{
			name:   "webhook_definitions",
			write:  func() (string, error) { return encodeRawDefinition(storedDefinition()) },
			golden: `{"id":"erp-sync","name":"ERP customer sync","url":"https://erp.example.com/hooks/crm","method":"PUT","secret_key":"enc:v1:k1:c2VhbGVkLXNlY3JldA","headers":{"Authorization":"enc:v1:k1:c2VhbGVkLWF1dGg","X-Api-Version":"2"},"fields_set":{"name":"customer-basic","fields":["name","address.city"]},"logging":"rejected_only","timeout":"10s","retry":{"max_attempts":6,"initial_interval":"1.5s","max_interval":"10m","multiplier":2.5},"max_in_flight":32,"max_queued":100000,"rate_limit":12.5,"disable_after":"72h","secret_rotation_grace":"24h30m","active":true,"previous_secret_key":"enc:v1:k1:cHJldmlvdXMtc2VjcmV0","secret_rotated_at":"2026-03-14T08:26:53.589Z","disabled_reason":"410 Gone","disabled_at":"2026-03-14T09:25:53.589Z","updated_at":"2026-03-14T09:26:53.589Z","updated_by":"alice"}`,
			read:   func(g string) (any, error) { return decodeRawDefinition([]byte(g)) },
			want:   new(storedDefinition()),
		},
		{
			name:   "webhook_definitions/zero",
			write:  func() (string, error) { return encodeRawDefinition(config.Definition{}) },
			golden: `{"id":"","name":"","url":"","method":"","secret_key":"","logging":"","timeout":"0s","retry":{"max_attempts":0,"initial_interval":"0s","max_interval":"0s","multiplier":0},"max_in_flight":0,"max_queued":0,"rate_limit":0,"disable_after":"0s","secret_rotation_grace":"0s","active":false}`,
			read:   func(g string) (any, error) { return decodeRawDefinition([]byte(g)) },
			want:   &config.Definition{},
		},
		{
			// Present but empty: an empty header map and a nil pointer are left out, an empty
			// fields_set and a zero time behind a pointer kept.
			name: "webhook_definitions/empty",
			write: func() (string, error) {
				return encodeRawDefinition(config.Definition{Headers: map[string]string{}, FieldsSet: &config.FieldsSet{Fields: []string{}},
					SecretRotatedAt: &zeroTime, DisabledAt: &zeroTime})
			},
			golden: `{"id":"","name":"","url":"","method":"","secret_key":"","fields_set":{"name":"","fields":[]},"logging":"","timeout":"0s","retry":{"max_attempts":0,"initial_interval":"0s","max_interval":"0s","multiplier":0},"max_in_flight":0,"max_queued":0,"rate_limit":0,"disable_after":"0s","secret_rotation_grace":"0s","active":false,"secret_rotated_at":"0001-01-01T00:00:00Z","disabled_at":"0001-01-01T00:00:00Z"}`,
		},
		{
			name:   "workflow_rules",
			write:  func() (string, error) { return encodeRule(fullRule()) },
			golden: `{"id":"customer-activated","name":"Customer activated","entity":"customer","actions":["created","updated"],"condition":"event.data.status == \"active\" \u0026\u0026 event.data.name != \"\u003cnone\u003e\"","webhook_definitions":["erp-sync","crm-mirror"],"active":true,"updated_at":"2026-03-14T09:26:53.589Z","updated_by":"alice"}`,
			read:   func(g string) (any, error) { return decodeRule([]byte(g)) },
			want:   new(fullRule()),
		},
		{
			name:   "workflow_rules/zero",
			write:  func() (string, error) { return encodeRule(config.Rule{}) },
			golden: `{"id":"","name":"","entity":"","actions":null,"webhook_definitions":null,"active":false}`,
			read:   func(g string) (any, error) { return decodeRule([]byte(g)) },
			want:   &config.Rule{},
		},
		{
			name: "workflow_rules/empty",
			write: func() (string, error) {
				return encodeRule(config.Rule{Actions: []string{}, WebhookDefinitions: []string{}})
			},
			golden: `{"id":"","name":"","entity":"","actions":[],"webhook_definitions":[],"active":false}`,
			read:   func(g string) (any, error) { return decodeRule([]byte(g)) },
			want:   &config.Rule{Actions: []string{}, WebhookDefinitions: []string{}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := c.write()
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if got != c.golden {
				t.Errorf("stored doc changed:\n got %s\nwant %s", got, c.golden)
			}
			if c.read == nil {
				return
			}
			v, err := c.read(c.golden)
			if err != nil {
				t.Fatalf("decode %s: %v", c.golden, err)
			}
			if !reflect.DeepEqual(v, c.want) {
				t.Errorf("read back:\n got %+v\nwant %+v", v, c.want)
			}
		})
	}
}

// The values of TestStoredDocsKeepTheirShape set every field, so that a field added to a domain
// type fails there until the store writes it and reads it back.
func TestGoldenValuesSetEveryField(t *testing.T) {
	t.Parallel()
	for name, v := range map[string]any{
		"config.Definition": fullDefinition(),
		"config.Rule":       fullRule(),
	} {
		for _, path := range zeroFields(reflect.ValueOf(v), name) {
			t.Errorf("%s is not set in the golden test's value", path)
		}
	}
}

// zeroFields returns the paths of the zero fields of v, a struct or a pointer to one, looking
// into nested structs (but not into a time.Time).
func zeroFields(v reflect.Value, path string) []string {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return []string{path}
		}
		v = v.Elem()
	}
	if v.Kind() == reflect.Struct && v.Type() != reflect.TypeFor[time.Time]() {
		var out []string
		for i := range v.NumField() {
			out = append(out, zeroFields(v.Field(i), path+"."+v.Type().Field(i).Name)...)
		}
		return out
	}
	if v.IsZero() {
		return []string{path}
	}
	return nil
}

// TestReadsRowsOfEarlierVersions reads, through the store, rows as the first version of the
// store wrote them: durations as time.Duration.String ("10m0s"), no max_queued,
// secret_rotation_grace nor secret rotation, secrets in clear, times written with an offset.
// Fields a row does not hold read as zero, not as a default.
func TestReadsRowsOfEarlierVersions(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "webhookd.db")
	s, err := Open(t.Context(), path, testutil.Keyring(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(t.Context()) })
	const (
		defRow  = `{"id":"legacy","name":"Legacy","url":"https://erp.example.com/hooks","method":"POST","secret_key":"whsec_legacy-0123456789","headers":{"X-Api-Version":"2"},"fields_set":{"name":"basic","fields":["name"]},"logging":"all","timeout":"10s","retry":{"max_attempts":6,"initial_interval":"1s","max_interval":"10m0s","multiplier":2},"max_in_flight":32,"rate_limit":0,"disable_after":"72h0m0s","active":false,"disabled_reason":"410 Gone","disabled_at":"2026-03-14T10:25:53.589+01:00","updated_at":"2026-03-14T09:26:53.589Z","updated_by":"alice"}`
		ruleRow = `{"id":"legacy-rule","name":"Legacy rule","entity":"customer","actions":["created"],"webhook_definitions":["legacy"],"active":true,"updated_at":"2026-03-14T09:26:53.589Z","updated_by":"alice"}`
	)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(t.Context(), `INSERT INTO webhook_definitions (id, doc) VALUES ('legacy', ?)`, defRow); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), `INSERT INTO workflow_rules (id, doc) VALUES ('legacy-rule', ?)`, ruleRow); err != nil {
		t.Fatal(err)
	}

	disabled := docTime.Add(-time.Minute)
	wantDef := &config.Definition{
		ID: "legacy", Name: "Legacy", URL: "https://erp.example.com/hooks", Method: "POST",
		SecretKey: "whsec_legacy-0123456789", Headers: map[string]string{"X-Api-Version": "2"},
		FieldsSet: &config.FieldsSet{Name: "basic", Fields: []string{"name"}},
		Logging:   config.LoggingAll, Timeout: config.Duration(10 * time.Second),
		Retry:          config.RetryPolicy{MaxAttempts: 6, InitialInterval: config.Duration(time.Second), MaxInterval: config.Duration(10 * time.Minute), Multiplier: 2},
		MaxInFlight:    32,
		DisableAfter:   config.Duration(72 * time.Hour),
		DisabledReason: "410 Gone", DisabledAt: &disabled,
		UpdatedAt: docTime, UpdatedBy: "alice",
	}
	d, err := s.GetDefinition(t.Context(), "legacy")
	if err != nil {
		t.Fatalf("GetDefinition: %v", err)
	}
	if !reflect.DeepEqual(d, wantDef) {
		t.Errorf("GetDefinition:\n got %+v\nwant %+v", d, wantDef)
	}
	wantRule := &config.Rule{
		ID: "legacy-rule", Name: "Legacy rule", Entity: "customer", Actions: []string{"created"},
		WebhookDefinitions: []string{"legacy"}, Active: true, UpdatedAt: docTime, UpdatedBy: "alice",
	}
	r, err := s.GetRule(t.Context(), "legacy-rule")
	if err != nil {
		t.Fatalf("GetRule: %v", err)
	}
	if !reflect.DeepEqual(r, wantRule) {
		t.Errorf("GetRule:\n got %+v\nwant %+v", r, wantRule)
	}
}

// Durations are kept as their section 4 strings ("10s", "72h"); a row written before a duration
// field existed reads it as zero. One stored as anything but a duration string is an error, never
// a number of nanoseconds taken for a duration.
func TestStoredDurations(t *testing.T) {
	t.Parallel()
	d, err := decodeRawDefinition([]byte(`{"id":"legacy","timeout":"1h30m0s"}`))
	if err != nil {
		t.Fatal(err)
	}
	if d.Timeout != config.Duration(90*time.Minute) || d.DisableAfter != 0 || d.Retry != (config.RetryPolicy{}) {
		t.Errorf("legacy row read as %+v", d)
	}
	for _, doc := range []string{
		`{"timeout":10}`,
		`{"timeout":10000000000}`,
		`{"timeout":null}`,
		`{"timeout":true}`,
		`{"retry":{"max_interval":1.5}}`,
		`{"disable_after":"72 hours"}`,
		`{"secret_rotation_grace":""}`,
	} {
		if d, err := decodeRawDefinition([]byte(doc)); err == nil {
			t.Errorf("%s: read without an error, as %+v", doc, d)
		}
	}
}
