package mongo

import (
	"reflect"
	"testing"
	"time"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/storage"
)

// Nested values that are present but empty are stored as they always were: an empty header map
// of a definition, or a zero time behind a pointer, left out; an empty fields_set, response or
// request header map kept.
func TestDocumentsKeepTheirShapeWithEmptyNestedValues(t *testing.T) {
	t.Parallel()
	var zeroTime time.Time
	cases := []struct {
		name   string
		doc    any
		golden string
	}{
		{
			name: "webhook_definitions",
			doc: newDefinitionDoc(config.Definition{Headers: map[string]string{}, FieldsSet: &config.FieldsSet{Fields: []string{}},
				SecretRotatedAt: &zeroTime, DisabledAt: &zeroTime}),
			golden: `{"id":"","name":"","url":"","method":"","secret_key":"","fields_set":{"name":"","fields":[]},"logging":"","timeout":"0s","retry":{"max_attempts":{"$numberInt":"0"},"initial_interval":"0s","max_interval":"0s","multiplier":{"$numberDouble":"0.0"}},"max_in_flight":{"$numberInt":"0"},"max_queued":{"$numberInt":"0"},"rate_limit":{"$numberDouble":"0.0"},"disable_after":"0s","secret_rotation_grace":"0s","active":false,"updated_at":{"$date":{"$numberLong":"-62135596800000"}},"updated_by":""}`,
		},
		{
			name:   "workflow_rules",
			doc:    newRuleDoc(config.Rule{Actions: []string{}, WebhookDefinitions: []string{}}),
			golden: `{"id":"","name":"","entity":"","actions":[],"webhook_definitions":[],"active":false,"updated_at":{"$date":{"$numberLong":"-62135596800000"}},"updated_by":""}`,
		},
		{
			name: "webhook_requests",
			doc: newRequestDoc(&storage.WebhookRequest{FieldsSet: &config.FieldsSet{},
				Request: storage.RequestInfo{Headers: map[string]string{}}, Response: &storage.ResponseInfo{Headers: map[string]string{}}}),
			golden: `{"number":"","seq":{"$numberLong":"0"},"webhook_id":"","state":"","entity":"","entity_id":"","event_id":"","url":"","secret_key":"","fields_set":{"name":"","fields":null},"request":{"method":"","url":"","headers":{},"body":"","sent_at":{"$date":{"$numberLong":"-62135596800000"}}},"response":{"status":{"$numberInt":"0"},"headers":{},"body":"","truncated":false,"duration_ms":{"$numberLong":"0"}},"webhook_definition":{"id":"","name":""},"workflow_rule":{"id":"","name":""},"attempts":{"$numberInt":"0"},"log":{"created_at":{"$date":{"$numberLong":"-62135596800000"}},"created_by":"","updated_at":{"$date":{"$numberLong":"-62135596800000"}},"updated_by":""}}`,
		},
		{
			name:   "webhook_requests/response",
			doc:    newResponseDoc(&storage.ResponseInfo{}),
			golden: `{"status":{"$numberInt":"0"},"headers":null,"body":"","truncated":false,"duration_ms":{"$numberLong":"0"}}`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := marshalDoc(t, c.doc); got != c.golden {
				t.Errorf("stored document changed:\n got %s\nwant %s", got, c.golden)
			}
		})
	}
}

// The values of TestDocumentsKeepTheirShape set every field, so that a field added to a domain
// type fails there until its document (newXDoc, xFromDoc) stores it and reads it back.
func TestGoldenValuesSetEveryField(t *testing.T) {
	t.Parallel()
	for name, v := range map[string]any{
		"config.Definition":      fullDefinition(),
		"config.Rule":            fullRule(),
		"storage.WebhookRequest": fullRequest(),
		"storage.InvalidEvent":   fullInvalidEvent(),
		"storage.AuditEntry":     fullAudit(),
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
