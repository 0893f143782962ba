package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// sampleYAML is CONTRACT.md section 4, verbatim.
const sampleYAML = `webhook_definitions:
  - id: erp-sync                    # required, [a-z0-9][a-z0-9-]*, unique
    name: ERP customer sync         # required
    url: https://erp.example.com/hooks/crm   # required, http or https
    method: POST                    # POST (default), PUT or PATCH
    secret_key: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw   # required: whsec_ + base64 of 24 to 64 bytes
    headers: {X-Api-Version: "2"}   # optional
    fields_set:                     # optional
      name: customer-basic
      fields: [name, email, status, address.city]
    logging: all                    # all (default): log successful and rejected; rejected_only
    timeout: 10s                    # per attempt, default 10s
    retry: {max_attempts: 6, initial_interval: 1s, max_interval: 10m, multiplier: 2}   # these defaults
    max_in_flight: 32               # concurrent attempts for this definition, default 32
    rate_limit: 0                   # attempts per second for this definition, 0 (default): no limit
    disable_after: 72h              # see endpoint health, section 3; 0 disables this check
    secret_rotation_grace: 24h      # default 24h: how long the previous secret_key keeps signing after a change
    active: true                    # default true
workflow_rules:
  - id: customer-activated          # required, same form as a definition id
    name: Customer activated        # required
    entity: customer                # required
    actions: [created, updated]     # optional; empty: any action
    condition: 'event.data.status == "active" && "status" in event.changed'   # optional, CEL
    webhook_definitions: [erp-sync] # required, ids of existing or same-document definitions
    active: true                    # default true
`

func sampleWant() *Document {
	return &Document{
		WebhookDefinitions: []Definition{{
			ID:        "erp-sync",
			Name:      "ERP customer sync",
			URL:       "https://erp.example.com/hooks/crm",
			Method:    "POST",
			SecretKey: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
			Headers:   map[string]string{"X-Api-Version": "2"},
			FieldsSet: &FieldsSet{Name: "customer-basic", Fields: []string{"name", "email", "status", "address.city"}},
			Logging:   LoggingAll,
			Timeout:   Duration(10 * time.Second),
			Retry: RetryPolicy{
				MaxAttempts:     6,
				InitialInterval: Duration(time.Second),
				MaxInterval:     Duration(10 * time.Minute),
				Multiplier:      2,
			},
			MaxInFlight:  32,
			MaxQueued:    100_000,
			RateLimit:    0,
			DisableAfter: Duration(72 * time.Hour),
			Active:       true,

			SecretRotationGrace: Duration(24 * time.Hour),
		}},
		WorkflowRules: []Rule{{
			ID:                 "customer-activated",
			Name:               "Customer activated",
			Entity:             "customer",
			Actions:            []string{"created", "updated"},
			Condition:          `event.data.status == "active" && "status" in event.changed`,
			WebhookDefinitions: []string{"erp-sync"},
			Active:             true,
		}},
	}
}

func TestParseYAMLSample(t *testing.T) {
	doc, err := ParseYAML([]byte(sampleYAML))
	if err != nil {
		t.Fatalf("ParseYAML: %v", err)
	}
	if want := sampleWant(); !reflect.DeepEqual(doc, want) {
		t.Fatalf("ParseYAML:\n got %+v\nwant %+v", doc, want)
	}
	if err := doc.Validate(nil); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if !reflect.DeepEqual(doc, sampleWant()) {
		t.Fatalf("Validate changed a valid document: %+v", doc)
	}
}

// The JSON form has the same names; a control request also carries "user", which is ignored.
func TestParseJSONSample(t *testing.T) {
	doc, err := ParseYAML([]byte(sampleYAML))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	b = append([]byte(`{"user":"ops",`), b[1:]...)
	got, err := ParseJSON(b)
	if err != nil {
		t.Fatalf("ParseJSON(%s): %v", b, err)
	}
	if want := sampleWant(); !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseJSON:\n got %+v\nwant %+v", got, want)
	}
	// And back to YAML: the marshalled form parses to the same document.
	y, err := yaml.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseYAML(y)
	if err != nil {
		t.Fatalf("ParseYAML(%s): %v", y, err)
	}
	if !reflect.DeepEqual(again, sampleWant()) {
		t.Fatalf("YAML round trip:\n got %+v\nwant %+v", again, sampleWant())
	}
}

func TestDefaults(t *testing.T) {
	minimalYAML := `webhook_definitions:
  - id: a
    name: A
    url: https://example.com
    secret_key: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
workflow_rules:
  - {id: r, name: R, entity: customer, webhook_definitions: [a]}
`
	minimalJSON := `{"webhook_definitions":[{"id":"a","name":"A","url":"https://example.com","secret_key":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}],
"workflow_rules":[{"id":"r","name":"R","entity":"customer","webhook_definitions":["a"]}]}`
	want := Defaults()
	want.ID, want.Name, want.URL, want.SecretKey = "a", "A", "https://example.com", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	wantRule := Rule{ID: "r", Name: "R", Entity: "customer", WebhookDefinitions: []string{"a"}, Active: true}
	for name, parse := range parsers(minimalYAML, minimalJSON) {
		t.Run(name, func(t *testing.T) {
			doc, err := parse()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(doc.WebhookDefinitions, []Definition{want}) {
				t.Errorf("definition:\n got %+v\nwant %+v", doc.WebhookDefinitions, want)
			}
			if !reflect.DeepEqual(doc.WorkflowRules, []Rule{wantRule}) {
				t.Errorf("rule:\n got %+v\nwant %+v", doc.WorkflowRules, wantRule)
			}
			if err := doc.Validate(nil); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

// A field given explicitly keeps its value, zero and false included, and a partial retry keeps
// the defaults of the fields it leaves out.
func TestExplicitZeroAndPartialRetry(t *testing.T) {
	y := `webhook_definitions:
  - id: a
    active: false
    rate_limit: 0
    disable_after: 0s
    secret_rotation_grace: 0s
    max_in_flight: 0
    retry: {max_attempts: 3}
workflow_rules:
  - {id: r, active: false}
`
	j := `{"webhook_definitions":[{"id":"a","active":false,"rate_limit":0,"disable_after":"0s","secret_rotation_grace":"0s","max_in_flight":0,"retry":{"max_attempts":3}}],
"workflow_rules":[{"id":"r","active":false}]}`
	for name, parse := range parsers(y, j) {
		t.Run(name, func(t *testing.T) {
			doc, err := parse()
			if err != nil {
				t.Fatal(err)
			}
			d := doc.WebhookDefinitions[0]
			if d.Active || d.RateLimit != 0 || d.DisableAfter != 0 || d.MaxInFlight != 0 || d.SecretRotationGrace != 0 {
				t.Errorf("explicit zeros lost: %+v", d)
			}
			wantRetry := DefaultRetry()
			wantRetry.MaxAttempts = 3
			if d.Retry != wantRetry {
				t.Errorf("retry = %+v, want %+v", d.Retry, wantRetry)
			}
			if d.Timeout != Duration(DefaultTimeout) || d.Method != "POST" || d.Logging != LoggingAll {
				t.Errorf("defaults lost: %+v", d)
			}
			if doc.WorkflowRules[0].Active {
				t.Error("rule active: false was lost")
			}
		})
	}
}

func parsers(y, j string) map[string]func() (*Document, error) {
	return map[string]func() (*Document, error){
		"yaml": func() (*Document, error) { return ParseYAML([]byte(y)) },
		"json": func() (*Document, error) { return ParseJSON([]byte(j)) },
	}
}

func TestParseYAMLErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // substrings of the error
	}{
		{"unknown top-level key", "webhook_definitons: []\n", []string{`line 1: unknown field "webhook_definitons" in document`, `did you mean "webhook_definitions"`}},
		{"unknown definition key", "webhook_definitions:\n  - id: a\n    secret_kye: x\n", []string{`line 3: unknown field "secret_kye" in webhook definition (did you mean "secret_key"?)`}},
		{"unknown retry key", "webhook_definitions:\n  - id: a\n    retry:\n      max_atempts: 3\n", []string{`line 4: unknown field "max_atempts" in retry`}},
		{"unknown fields_set key", "webhook_definitions:\n  - id: a\n    fields_set: {name: x, feilds: [a]}\n", []string{`line 3: unknown field "feilds" in fields_set`}},
		{"unknown rule key", "workflow_rules:\n  - id: a\n    condtion: x\n", []string{`line 3: unknown field "condtion" in workflow rule`}},
		{"unknown key far from any", "workflow_rules:\n  - zzzzzzzz: 1\n", []string{`line 2: unknown field "zzzzzzzz" in workflow rule`}},
		{"every fault at once, in line order", "webhook_definitions:\n  - id: a\n    nme: x\n    timeout: 10\n    max_in_flight: many\nfoo: 1\n",
			[]string{"line 3: unknown field \"nme\"", "line 4: invalid duration \"10\"", "line 5: cannot unmarshal", "line 6: unknown field \"foo\""}},
		{"wrong type", "webhook_definitions:\n  - active: maybe\n", []string{"line 2: cannot unmarshal"}},
		{"duration not a scalar", "webhook_definitions:\n  - timeout: [1]\n", []string{`line 2: duration must be a string`}},
		{"definitions not a list", "webhook_definitions: 5\n", []string{"line 1: cannot unmarshal"}},
		{"definition not a mapping", "webhook_definitions: [x]\n", []string{"line 1: a webhook definition must be a mapping"}},
		{"rule not a mapping", "workflow_rules:\n  - [x]\n", []string{"line 2: a workflow rule must be a mapping"}},
		{"retry not a mapping", "webhook_definitions:\n  - retry: 3\n", []string{"line 2: retry must be a mapping"}},
		{"document not a mapping", "- a\n", []string{"line 1: a config document must be a mapping"}},
		{"duplicate key", "webhook_definitions:\n  - id: a\n    id: b\n", []string{`line 3: mapping key "id" already defined at line 2`}},
		{"two documents", "workflow_rules: []\n---\nworkflow_rules: []\n", []string{"more than one YAML document"}},
		{"syntax", "webhook_definitions: [\n", []string{"parse YAML config"}},
		{"too big", "#" + strings.Repeat("x", MaxDocumentSize), []string{"at most 4194304"}},
		{"unknown key in merged mapping", "x: &r {max_atempts: 2}\nwebhook_definitions:\n  - retry: {<<: *r}\n", []string{`line 1: unknown field "max_atempts" in retry`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseYAML([]byte(tt.in))
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			last := -1
			for _, w := range tt.want {
				i := strings.Index(msg, w)
				if i < 0 {
					t.Fatalf("error %q does not contain %q", msg, w)
				}
				if i < last {
					t.Errorf("error %q: %q is out of order", msg, w)
				}
				last = i
			}
		})
	}
}

func TestParseYAMLAccepts(t *testing.T) {
	// Empty input is an empty document.
	for _, in := range []string{"", "# nothing\n", "---\n"} {
		doc, err := ParseYAML([]byte(in))
		if err != nil || doc == nil || len(doc.WebhookDefinitions)+len(doc.WorkflowRules) != 0 {
			t.Errorf("ParseYAML(%q) = %+v, %v; want an empty document", in, doc, err)
		}
	}
	// Anchors and merge keys let a file share settings.
	doc, err := ParseYAML([]byte(`x-retry: &r {max_attempts: 2, multiplier: 3}
webhook_definitions:
  - id: a
    retry: {<<: *r, multiplier: 4}
    headers: {X-Number: 2}
`))
	if err == nil {
		t.Fatalf("a top-level key outside section 4 must be refused, got %+v", doc)
	}
	doc, err = ParseYAML([]byte(`webhook_definitions:
  - id: a
    retry: &r {max_attempts: 2, multiplier: 3}
  - id: b
    retry: {<<: *r, multiplier: 4}
    headers: {X-Number: 2}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := RetryPolicy{MaxAttempts: 2, InitialInterval: Duration(time.Second), MaxInterval: Duration(10 * time.Minute), Multiplier: 4}
	if got := doc.WebhookDefinitions[1].Retry; got != want {
		t.Errorf("merged retry = %+v, want %+v", got, want)
	}
	if got := doc.WebhookDefinitions[1].Headers["X-Number"]; got != "2" {
		t.Errorf("header X-Number = %q, want \"2\"", got)
	}
}

func TestParseJSONErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "not a JSON object"},
		{"array", "[]", "not a JSON object"},
		{"null", "null", "not a JSON object"},
		{"string", `"x"`, "not a JSON object"},
		{"trailing data", `{} {}`, "data after the JSON object"},
		{"syntax", `{"webhook_definitions":[`, "parse JSON config"},
		{"definitions not an array", `{"webhook_definitions":{}}`, `field "webhook_definitions": got a JSON object, want an array`},
		{"int as string", `{"webhook_definitions":[{"max_in_flight":"3"}]}`, `webhook_definitions[0]: field "max_in_flight": got a JSON string, want an integer`},
		{"bool as string", `{"webhook_definitions":[{},{"active":"yes"}]}`, `webhook_definitions[1]: field "active": got a JSON string, want a boolean`},
		{"duration as number", `{"webhook_definitions":[{"timeout":10}]}`, `webhook_definitions[0]: field "timeout": got a JSON number, want a string`},
		{"bad duration", `{"webhook_definitions":[{"retry":{"max_interval":"soon"}}]}`, `invalid duration "soon"`},
		{"actions as string", `{"workflow_rules":[{"actions":"created"}]}`, `workflow_rules[0]: field "actions": got a JSON string, want an array`},
		{"headers as list", `{"webhook_definitions":[{"headers":["a"]}]}`, `field "headers": got a JSON array, want an object`},
		{"too big", `{"x":"` + strings.Repeat("x", MaxDocumentSize) + `"}`, "at most 4194304"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseJSON([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseJSON(%.60q) = %v, want an error containing %q", tt.in, err, tt.want)
			}
		})
	}
	// The type error stays in the chain.
	_, err := ParseJSON([]byte(`{"webhook_definitions":[{"max_in_flight":"3"}]}`))
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		t.Errorf("errors.As(%v, *json.UnmarshalTypeError) = false", err)
	}
}

func TestParseJSONIgnoresUnknownFields(t *testing.T) {
	doc, err := ParseJSON([]byte(`{"user":"ops","extra":{"a":[1]},"webhook_definitions":[{"id":"a","colour":"blue"}],"workflow_rules":[null]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.WebhookDefinitions) != 1 || doc.WebhookDefinitions[0].ID != "a" || len(doc.WorkflowRules) != 1 {
		t.Fatalf("got %+v", doc)
	}
}

// Merges that name the same anchors over and over must not take exponential time (2^40 visits
// here if each merge were followed anew); the test would time out if they did.
func TestParseYAMLMergeBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("webhook_definitions:\n  - retry: &a0 {max_attempts: 1}\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "  - retry: &a%d {<<: [*a%d, *a%d]}\n", i, i-1, i-1)
	}
	_, err := ParseYAML([]byte(b.String()))
	if err == nil || strings.Count(err.Error(), "excessive aliasing") != 1 {
		t.Fatalf("ParseYAML = %v, want one excessive aliasing error", err)
	}
}
