package mongo

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/storage"
)

// The documents in MongoDB are read by deployments already running and described by
// CONTRACT.md (sections 2, 4 and 5): their field names, BSON types, omitted fields and _id must
// not change. Each golden string below is a document of one kind, as the store's client writes
// it, in canonical extended JSON; the store reads it back to the value it was made from.

// docRegistry is the BSON registry of the store's client.
func docRegistry() *bson.Registry {
	if r := clientOptions("mongodb://127.0.0.1:27017").Registry; r != nil {
		return r
	}
	return bson.NewRegistry()
}

// marshalDoc returns doc as the store's client writes it, in canonical extended JSON.
func marshalDoc(t *testing.T, doc any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := bson.NewEncoder(bson.NewDocumentWriter(&buf))
	enc.SetRegistry(docRegistry())
	if err := enc.Encode(doc); err != nil {
		t.Fatalf("encode %T: %v", doc, err)
	}
	ext, err := bson.MarshalExtJSON(bson.Raw(buf.Bytes()), true, false)
	if err != nil {
		t.Fatalf("extended JSON of %T: %v", doc, err)
	}
	return string(ext)
}

// unmarshalDoc reads a document given in canonical extended JSON as the store's client does.
func unmarshalDoc[T any](t *testing.T, ext string) (T, error) {
	t.Helper()
	var doc T
	var raw bson.Raw
	if err := bson.UnmarshalExtJSON([]byte(ext), true, &raw); err != nil {
		t.Fatalf("parse extended JSON %s: %v", ext, err)
	}
	dec := bson.NewDecoder(bson.NewDocumentReader(bytes.NewReader(raw)))
	dec.SetRegistry(docRegistry())
	err := dec.Decode(&doc)
	return doc, err
}

func mustUnmarshalDoc[T any](t *testing.T, ext string) T {
	t.Helper()
	doc, err := unmarshalDoc[T](t, ext)
	if err != nil {
		t.Fatalf("decode %s: %v", ext, err)
	}
	return doc
}

// docTime is a time a BSON date holds exactly (milliseconds, UTC).
var docTime = time.Date(2026, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

func fullDefinition() config.Definition {
	rotated, disabled, until := docTime.Add(-time.Hour), docTime.Add(-time.Minute), docTime.Add(23*time.Hour)
	return config.Definition{
		ID:           "erp-sync",
		Name:         "ERP customer sync",
		URL:          "https://erp.example.com/hooks/crm",
		Method:       "PUT",
		SecretKey:    "enc:v1:k1:c2VhbGVkLXNlY3JldA",
		Headers:      map[string]string{"Authorization": "enc:v1:k1:c2VhbGVkLWF1dGg"},
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
		PreviousSecretUntil: &until, // only in replies: never stored
		DisabledReason:      "410 Gone",
		DisabledAt:          &disabled,
		UpdatedAt:           docTime,
		UpdatedBy:           "alice",
	}
}

func fullRule() config.Rule {
	return config.Rule{
		ID:                 "customer-activated",
		Name:               "Customer activated",
		Entity:             "customer",
		Actions:            []string{"created", "updated"},
		Condition:          `event.data.status == "active"`,
		WebhookDefinitions: []string{"erp-sync"},
		Active:             true,
		UpdatedAt:          docTime,
		UpdatedBy:          "alice",
	}
}

func fullResponse() *storage.ResponseInfo {
	return &storage.ResponseInfo{
		Status:     503,
		Headers:    map[string]string{"Retry-After": "120"},
		Body:       `{"error":"maintenance"}`,
		Truncated:  true,
		DurationMS: 1520,
	}
}

func fullRequest() *storage.WebhookRequest {
	return &storage.WebhookRequest{
		Number:    "WR-0000001234",
		Seq:       1234,
		WebhookID: "msg_2Yc9d3XhQkG1",
		State:     storage.StateRejected,
		Entity:    "customer",
		EntityID:  "c-42",
		EventID:   "evt-7",
		URL:       "https://erp.example.com/hooks/crm?token=****",
		SecretKey: "whsec_…LaSw",
		FieldsSet: &config.FieldsSet{Name: "customer-basic", Fields: []string{"name"}},
		Request: storage.RequestInfo{
			Method:  "POST",
			URL:     "https://erp.example.com/hooks/crm?token=****",
			Headers: map[string]string{"Content-Type": "application/json"},
			Body:    `{"name":"Ada"}`,
			SentAt:  docTime.Add(-2 * time.Second),
		},
		Response:          fullResponse(),
		WebhookDefinition: storage.Ref{ID: "erp-sync", Name: "ERP customer sync"},
		WorkflowRule:      storage.Ref{ID: "customer-activated", Name: "Customer activated"},
		Attempts:          6,
		ErrorCode:         "HTTP_STATUS",
		ErrorDescription:  "503 Service Unavailable",
		ResentFrom:        "WR-0000001200",
		Log: storage.Log{
			CreatedAt: docTime.Add(-time.Second),
			CreatedBy: storage.SystemUser,
			UpdatedAt: docTime,
			UpdatedBy: "alice",
		},
	}
}

func fullInvalidEvent() storage.InvalidEvent {
	return storage.InvalidEvent{
		Subject:    "crm.events.customer",
		Body:       `{"id":"evt-8"}`,
		Reason:     "subject has 3 tokens, want 4",
		ReceivedAt: docTime,
		MsgID:      "CRM_EVENTS:42",
	}
}

func fullAudit() storage.AuditEntry {
	return storage.AuditEntry{
		At:      docTime,
		User:    "alice",
		Command: "config.apply",
		Request: `{"user":"alice"}`,
		OK:      true,
		Result:  "1 definition, 1 rule",
	}
}

// docID is an _id as stored: every document has one the server or the driver assigned, and the
// store ignores it on reading.
const docID = `"_id":{"$oid":"65f2c3a1b4e5f60718293a4b"},`

func withID(golden string) string { return "{" + docID + strings.TrimPrefix(golden, "{") }

func TestDocumentsKeepTheirShape(t *testing.T) {
	t.Parallel()
	wantDef := fullDefinition()
	wantDef.PreviousSecretUntil = nil
	cases := []struct {
		name string
		doc  any // what the store hands the driver; nil: the store only reads this kind
		// golden is doc in canonical extended JSON.
		golden string
		// read returns the domain value the store reads from golden (nil: it reads none).
		read func(t *testing.T, golden string) any
		want any
	}{
		{
			name:   "webhook_definitions",
			doc:    newDefinitionDoc(fullDefinition()),
			golden: `{"id":"erp-sync","name":"ERP customer sync","url":"https://erp.example.com/hooks/crm","method":"PUT","secret_key":"enc:v1:k1:c2VhbGVkLXNlY3JldA","headers":{"Authorization":"enc:v1:k1:c2VhbGVkLWF1dGg"},"fields_set":{"name":"customer-basic","fields":["name","address.city"]},"logging":"rejected_only","timeout":"10s","retry":{"max_attempts":{"$numberInt":"6"},"initial_interval":"1.5s","max_interval":"10m","multiplier":{"$numberDouble":"2.5"}},"max_in_flight":{"$numberInt":"32"},"max_queued":{"$numberInt":"100000"},"rate_limit":{"$numberDouble":"12.5"},"disable_after":"72h","secret_rotation_grace":"24h30m","active":true,"previous_secret_key":"enc:v1:k1:cHJldmlvdXMtc2VjcmV0","secret_rotated_at":{"$date":{"$numberLong":"1773476813589"}},"disabled_reason":"410 Gone","disabled_at":{"$date":{"$numberLong":"1773480353589"}},"updated_at":{"$date":{"$numberLong":"1773480413589"}},"updated_by":"alice"}`,
			read: func(t *testing.T, g string) any {
				return definitionFromDoc(mustUnmarshalDoc[definitionDoc](t, g))
			},
			want: wantDef,
		},
		{
			name:   "webhook_definitions/zero",
			doc:    newDefinitionDoc(config.Definition{}),
			golden: `{"id":"","name":"","url":"","method":"","secret_key":"","logging":"","timeout":"0s","retry":{"max_attempts":{"$numberInt":"0"},"initial_interval":"0s","max_interval":"0s","multiplier":{"$numberDouble":"0.0"}},"max_in_flight":{"$numberInt":"0"},"max_queued":{"$numberInt":"0"},"rate_limit":{"$numberDouble":"0.0"},"disable_after":"0s","secret_rotation_grace":"0s","active":false,"updated_at":{"$date":{"$numberLong":"-62135596800000"}},"updated_by":""}`,
			read: func(t *testing.T, g string) any {
				return definitionFromDoc(mustUnmarshalDoc[definitionDoc](t, g))
			},
			want: config.Definition{},
		},
		{
			name:   "workflow_rules",
			doc:    newRuleDoc(fullRule()),
			golden: `{"id":"customer-activated","name":"Customer activated","entity":"customer","actions":["created","updated"],"condition":"event.data.status == \"active\"","webhook_definitions":["erp-sync"],"active":true,"updated_at":{"$date":{"$numberLong":"1773480413589"}},"updated_by":"alice"}`,
			read:   func(t *testing.T, g string) any { return ruleFromDoc(mustUnmarshalDoc[ruleDoc](t, g)) },
			want:   fullRule(),
		},
		{
			name:   "workflow_rules/zero",
			doc:    newRuleDoc(config.Rule{}),
			golden: `{"id":"","name":"","entity":"","actions":null,"webhook_definitions":null,"active":false,"updated_at":{"$date":{"$numberLong":"-62135596800000"}},"updated_by":""}`,
			read:   func(t *testing.T, g string) any { return ruleFromDoc(mustUnmarshalDoc[ruleDoc](t, g)) },
			want:   config.Rule{},
		},
		{
			name:   "webhook_requests",
			doc:    newRequestDoc(fullRequest()),
			golden: `{"number":"WR-0000001234","seq":{"$numberLong":"1234"},"webhook_id":"msg_2Yc9d3XhQkG1","state":"rejected","entity":"customer","entity_id":"c-42","event_id":"evt-7","url":"https://erp.example.com/hooks/crm?token=****","secret_key":"whsec_…LaSw","fields_set":{"name":"customer-basic","fields":["name"]},"request":{"method":"POST","url":"https://erp.example.com/hooks/crm?token=****","headers":{"Content-Type":"application/json"},"body":"{\"name\":\"Ada\"}","sent_at":{"$date":{"$numberLong":"1773480411589"}}},"response":{"status":{"$numberInt":"503"},"headers":{"Retry-After":"120"},"body":"{\"error\":\"maintenance\"}","truncated":true,"duration_ms":{"$numberLong":"1520"}},"webhook_definition":{"id":"erp-sync","name":"ERP customer sync"},"workflow_rule":{"id":"customer-activated","name":"Customer activated"},"attempts":{"$numberInt":"6"},"error_code":"HTTP_STATUS","error_description":"503 Service Unavailable","resent_from":"WR-0000001200","log":{"created_at":{"$date":{"$numberLong":"1773480412589"}},"created_by":"system","updated_at":{"$date":{"$numberLong":"1773480413589"}},"updated_by":"alice"}}`,
			read: func(t *testing.T, g string) any {
				return requestFromDoc(mustUnmarshalDoc[requestDoc](t, g))
			},
			want: fullRequest(),
		},
		{
			name:   "webhook_requests/zero",
			doc:    newRequestDoc(&storage.WebhookRequest{}),
			golden: `{"number":"","seq":{"$numberLong":"0"},"webhook_id":"","state":"","entity":"","entity_id":"","event_id":"","url":"","secret_key":"","fields_set":null,"request":{"method":"","url":"","headers":null,"body":"","sent_at":{"$date":{"$numberLong":"-62135596800000"}}},"webhook_definition":{"id":"","name":""},"workflow_rule":{"id":"","name":""},"attempts":{"$numberInt":"0"},"log":{"created_at":{"$date":{"$numberLong":"-62135596800000"}},"created_by":"","updated_at":{"$date":{"$numberLong":"-62135596800000"}},"updated_by":""}}`,
			read: func(t *testing.T, g string) any {
				return requestFromDoc(mustUnmarshalDoc[requestDoc](t, g))
			},
			want: &storage.WebhookRequest{},
		},
		{
			// The response a rejected resend sets (CompleteResendFailure).
			name:   "webhook_requests/response",
			doc:    newResponseDoc(fullResponse()),
			golden: `{"status":{"$numberInt":"503"},"headers":{"Retry-After":"120"},"body":"{\"error\":\"maintenance\"}","truncated":true,"duration_ms":{"$numberLong":"1520"}}`,
		},
		{
			name:   "invalid_events",
			doc:    newInvalidEventDoc(fullInvalidEvent()),
			golden: `{"subject":"crm.events.customer","body":"{\"id\":\"evt-8\"}","reason":"subject has 3 tokens, want 4","received_at":{"$date":{"$numberLong":"1773480413589"}},"msg_id":"CRM_EVENTS:42"}`,
			read: func(t *testing.T, g string) any {
				return invalidEventFromDoc(mustUnmarshalDoc[invalidEventDoc](t, g))
			},
			want: fullInvalidEvent(),
		},
		{
			name:   "invalid_events/zero",
			doc:    newInvalidEventDoc(storage.InvalidEvent{}),
			golden: `{"subject":"","body":"","reason":"","received_at":{"$date":{"$numberLong":"-62135596800000"}},"msg_id":""}`,
			read: func(t *testing.T, g string) any {
				return invalidEventFromDoc(mustUnmarshalDoc[invalidEventDoc](t, g))
			},
			want: storage.InvalidEvent{},
		},
		{
			name:   "audit_log",
			doc:    newAuditDoc(fullAudit()),
			golden: `{"at":{"$date":{"$numberLong":"1773480413589"}},"user":"alice","command":"config.apply","request":"{\"user\":\"alice\"}","ok":true,"result":"1 definition, 1 rule"}`,
			read:   func(t *testing.T, g string) any { return auditFromDoc(mustUnmarshalDoc[auditDoc](t, g)) },
			want:   fullAudit(),
		},
		{
			name:   "audit_log/zero",
			doc:    newAuditDoc(storage.AuditEntry{}),
			golden: `{"at":{"$date":{"$numberLong":"-62135596800000"}},"user":"","command":"","request":"","ok":false,"result":""}`,
			read:   func(t *testing.T, g string) any { return auditFromDoc(mustUnmarshalDoc[auditDoc](t, g)) },
			want:   storage.AuditEntry{},
		},
		{
			// Written by RecordFailures' upsert ($inc, $setOnInsert), never whole.
			name:   "definition_health",
			golden: `{"id":"erp-sync","failures":{"$numberLong":"3"},"failing_since":{"$date":{"$numberLong":"1773480413589"}}}`,
			read: func(t *testing.T, g string) any {
				return healthFromDoc(mustUnmarshalDoc[healthDoc](t, g))
			},
			want: storage.DefinitionHealth{ID: "erp-sync", FailingSince: docTime, Failures: 3},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.doc != nil {
				if got := marshalDoc(t, c.doc); got != c.golden {
					t.Errorf("stored document changed:\n got %s\nwant %s", got, c.golden)
				}
			}
			if c.read == nil {
				return
			}
			// As stored, with an _id.
			if got := c.read(t, withID(c.golden)); !reflect.DeepEqual(got, c.want) {
				t.Errorf("read back:\n got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// Durations are kept as their section 4 strings ("10s", "72h"). A document written before a
// duration field existed reads it as zero; one stored as anything but a string is an error,
// never a number of nanoseconds taken for a duration.
func TestDocumentDurations(t *testing.T) {
	t.Parallel()
	legacy := definitionFromDoc(mustUnmarshalDoc[definitionDoc](t, `{"id":"legacy","timeout":"10s"}`))
	if legacy.Timeout != config.Duration(10*time.Second) || legacy.DisableAfter != 0 || legacy.Retry != (config.RetryPolicy{}) {
		t.Errorf("legacy document read as %+v", legacy)
	}
	for _, doc := range []string{
		`{"timeout":{"$numberInt":"10"}}`,
		`{"timeout":{"$numberLong":"10000000000"}}`,
		`{"timeout":null}`,
		`{"retry":{"max_interval":{"$numberDouble":"1.5"}}}`,
		`{"disable_after":"72 hours"}`,
	} {
		if d, err := unmarshalDoc[definitionDoc](t, doc); err == nil {
			t.Errorf("%s: read without an error, as %+v", doc, definitionFromDoc(d))
		}
	}
}
