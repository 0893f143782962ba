package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/redact"
)

const testKey = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func validDefinition(id string) Definition {
	d := Defaults()
	d.ID, d.Name, d.URL, d.SecretKey = id, "Def "+id, "https://example.com/hook", testKey
	return d
}

func validRule(id string, defs ...string) Rule {
	return Rule{ID: id, Name: "Rule " + id, Entity: "customer", WebhookDefinitions: defs, Active: true}
}

func TestValidateDefinitionFaults(t *testing.T) {
	long := strings.Repeat("a", 65)
	tests := []struct {
		name   string
		mutate func(d *Definition)
		field  string
		msg    string // substring of the message
	}{
		{"id required", func(d *Definition) { d.ID = "" }, "id", "required"},
		{"id uppercase", func(d *Definition) { d.ID = "ERP" }, "id", "must match [a-z0-9][a-z0-9-]*"},
		{"id leading dash", func(d *Definition) { d.ID = "-erp" }, "id", "must match"},
		{"id underscore", func(d *Definition) { d.ID = "erp_sync" }, "id", "must match"},
		{"id too long", func(d *Definition) { d.ID = long }, "id", "at most 64"},
		{"name required", func(d *Definition) { d.Name = " " }, "name", "required"},
		{"name too long", func(d *Definition) { d.Name = strings.Repeat("n", 257) }, "name", "longer than 256"},
		{"name not utf-8", func(d *Definition) { d.Name = "\xff" }, "name", "UTF-8"},
		{"url required", func(d *Definition) { d.URL = "" }, "url", "required"},
		{"url scheme", func(d *Definition) { d.URL = "ftp://example.com/x" }, "url", "must be http or https"},
		{"url relative", func(d *Definition) { d.URL = "/hooks" }, "url", "must be http or https"},
		{"url no host", func(d *Definition) { d.URL = "https:///hooks" }, "url", "must have a host"},
		{"url port only", func(d *Definition) { d.URL = "https://:443/hooks" }, "url", "must have a host"},
		{"url does not parse", func(d *Definition) { d.URL = "https://exa mple.com/%zz" }, "url", "does not parse"},
		{"url user info", func(d *Definition) { d.URL = "https://user:pw@example.com/" }, "url", "must not hold user info"},
		{"url too long", func(d *Definition) { d.URL = "https://example.com/" + strings.Repeat("a", 2048) }, "url", "at most 2048"},
		{"method", func(d *Definition) { d.Method = "GET" }, "method", "must be POST, PUT or PATCH"},
		{"method empty", func(d *Definition) { d.Method = "" }, "method", "must be POST, PUT or PATCH"},
		{"secret required", func(d *Definition) { d.SecretKey = "" }, "secret_key", "required"},
		{"secret prefix", func(d *Definition) { d.SecretKey = strings.TrimPrefix(testKey, "whsec_") }, "secret_key", "must be whsec_"},
		{"secret not base64", func(d *Definition) { d.SecretKey = "whsec_!!!!" + testKey[10:] }, "secret_key", "must be whsec_"},
		{"secret unpadded", func(d *Definition) { d.SecretKey = "whsec_" + strings.Repeat("A", 33) }, "secret_key", "must be whsec_"},
		{"secret too short", func(d *Definition) { d.SecretKey = "whsec_" + strings.Repeat("A", 28) }, "secret_key", "24 to 64 bytes"}, // 21 bytes
		{"secret too long", func(d *Definition) { d.SecretKey = "whsec_" + strings.Repeat("A", 88) }, "secret_key", "24 to 64 bytes"},  // 66 bytes
		// Padding bits that are not zero: lax base64 reads it, the signer (strict) refuses it.
		{"secret not canonical base64", func(d *Definition) { d.SecretKey = "whsec_" + strings.Repeat("A", 42) + "B=" }, "secret_key", "must be whsec_"},
		{"secret with newline", func(d *Definition) { d.SecretKey = testKey[:20] + "\n" + testKey[20:] }, "secret_key", "must be whsec_"},
		{"secret masked", func(d *Definition) { d.SecretKey = redact.Secret(testKey) }, "secret_key", "looks masked"},
		{"url masked", func(d *Definition) { d.URL = "https://example.com/hook?token=…abcd" }, "url", "looks masked"},
		{"url masked, escaped", func(d *Definition) { d.URL = "https://example.com/hook?token=%e2%80%a6abcd" }, "url", "looks masked"},
		{"header name", func(d *Definition) { d.Headers = map[string]string{"X Bad": "1"} }, "headers", `"X Bad" is not a valid header name`},
		{"header value CRLF", func(d *Definition) { d.Headers = map[string]string{"X-A": "1\r\nX-B: 2"} }, "headers.X-A", "control character"},
		{"header value too long", func(d *Definition) { d.Headers = map[string]string{"X-A": strings.Repeat("v", 8193)} }, "headers.X-A", "longer than 8192"},
		{"header value masked", func(d *Definition) { d.Headers = map[string]string{"Authorization": "…abcd"} }, "headers.Authorization", "looks masked"},
		{"header same name twice", func(d *Definition) { d.Headers = map[string]string{"X-A": "1", "x-a": "2"} }, "headers", "X-A and x-a are the same header"},
		{"header content-type", func(d *Definition) { d.Headers = map[string]string{"content-type": "text/plain"} }, "headers", "content-type is set by webhookd"},
		{"header user-agent", func(d *Definition) { d.Headers = map[string]string{"User-Agent": "x"} }, "headers", "is set by webhookd"},
		{"header webhook-id", func(d *Definition) { d.Headers = map[string]string{"Webhook-Id": "x"} }, "headers", "is set by webhookd"},
		{"header webhook-timestamp", func(d *Definition) { d.Headers = map[string]string{"WEBHOOK-TIMESTAMP": "x"} }, "headers", "is set by webhookd"},
		{"header webhook-signature", func(d *Definition) { d.Headers = map[string]string{"webhook-signature": "x"} }, "headers", "is set by webhookd"},
		{"header host", func(d *Definition) { d.Headers = map[string]string{"Host": "x"} }, "headers", "comes from the url"},
		{"header content-length", func(d *Definition) { d.Headers = map[string]string{"Content-Length": "1"} }, "headers", "is set by webhookd"},
		{"header transfer-encoding", func(d *Definition) { d.Headers = map[string]string{"Transfer-Encoding": "chunked"} }, "headers", "belongs to the connection"},
		{"fields_set name", func(d *Definition) { d.FieldsSet = &FieldsSet{Fields: []string{"a"}} }, "fields_set.name", "required"},
		{"fields_set empty", func(d *Definition) { d.FieldsSet = &FieldsSet{Name: "x"} }, "fields_set.fields", "at least one field"},
		{"fields_set empty path", func(d *Definition) { d.FieldsSet = &FieldsSet{Name: "x", Fields: []string{"a", ""}} }, "fields_set.fields[1]", "dot path"},
		{"fields_set empty segment", func(d *Definition) { d.FieldsSet = &FieldsSet{Name: "x", Fields: []string{"address..city"}} }, "fields_set.fields[0]", "dot path"},
		{"fields_set trailing dot", func(d *Definition) { d.FieldsSet = &FieldsSet{Name: "x", Fields: []string{"address."}} }, "fields_set.fields[0]", "dot path"},
		{"logging", func(d *Definition) { d.Logging = "none" }, "logging", "must be all or rejected_only"},
		{"timeout zero", func(d *Definition) { d.Timeout = 0 }, "timeout", "more than 0s"},
		{"timeout negative", func(d *Definition) { d.Timeout = Duration(-time.Second) }, "timeout", "more than 0s"},
		{"timeout too long", func(d *Definition) { d.Timeout = Duration(5*time.Minute + 1) }, "timeout", "at most 5m0s"},
		{"max_attempts zero", func(d *Definition) { d.Retry.MaxAttempts = 0 }, "retry.max_attempts", "1 to 100"},
		{"max_attempts too many", func(d *Definition) { d.Retry.MaxAttempts = 101 }, "retry.max_attempts", "1 to 100"},
		{"initial_interval zero", func(d *Definition) { d.Retry.InitialInterval = 0 }, "retry.initial_interval", "more than 0s"},
		{"max_interval below initial", func(d *Definition) { d.Retry.MaxInterval = Duration(500 * time.Millisecond) }, "retry.max_interval", "at least initial_interval (1s)"},
		{"multiplier below 1", func(d *Definition) { d.Retry.Multiplier = 0.5 }, "retry.multiplier", "at least 1"},
		{"multiplier NaN", func(d *Definition) { d.Retry.Multiplier = nan() }, "retry.multiplier", "finite"},
		{"multiplier Inf", func(d *Definition) { d.Retry.Multiplier = inf() }, "retry.multiplier", "finite"},
		{"max_in_flight zero", func(d *Definition) { d.MaxInFlight = 0 }, "max_in_flight", "1 to 1000"},
		{"max_in_flight too many", func(d *Definition) { d.MaxInFlight = 1001 }, "max_in_flight", "1 to 1000"},
		{"rate_limit negative", func(d *Definition) { d.RateLimit = -1 }, "rate_limit", "at least 0"},
		{"rate_limit NaN", func(d *Definition) { d.RateLimit = nan() }, "rate_limit", "finite"},
		{"disable_after negative", func(d *Definition) { d.DisableAfter = Duration(-time.Hour) }, "disable_after", "must not be negative"},
		{"secret_rotation_grace negative", func(d *Definition) { d.SecretRotationGrace = Duration(-time.Second) }, "secret_rotation_grace", "must be 0 (the previous key stops signing at once) to 720h"},
		{"secret_rotation_grace too long", func(d *Definition) { d.SecretRotationGrace = Duration(721 * time.Hour) }, "secret_rotation_grace", "to 720h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := validDefinition("erp-sync")
			tt.mutate(&d)
			doc := &Document{WebhookDefinitions: []Definition{validDefinition("other"), d}}
			f := onlyFault(t, doc.Validate(nil))
			if f.Kind != KindDefinition || f.Index != 1 || f.Field != tt.field || !strings.Contains(f.Message, tt.msg) {
				t.Fatalf("fault = %+v, want field %q, message containing %q", f, tt.field, tt.msg)
			}
			if d.ID == "erp-sync" && f.ID != "erp-sync" {
				t.Errorf("fault does not name the entry: %+v", f)
			}
			if strings.Contains(f.Error(), testKey[6:20]) || strings.Contains(f.Error(), "user:pw") {
				t.Errorf("fault %q leaks a secret", f.Error())
			}
		})
	}
}

func TestValidateRuleFaults(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(r *Rule)
		field  string
		msg    string
	}{
		{"id required", func(r *Rule) { r.ID = "" }, "id", "required"},
		{"id form", func(r *Rule) { r.ID = "Customer Activated" }, "id", "must match"},
		{"name required", func(r *Rule) { r.Name = "" }, "name", "required"},
		{"entity required", func(r *Rule) { r.Entity = "" }, "entity", "required"},
		{"entity form", func(r *Rule) { r.Entity = "Customer" }, "entity", "must match [a-z0-9_]+"},
		{"entity with dot", func(r *Rule) { r.Entity = "customer.x" }, "entity", "must match [a-z0-9_]+"},
		{"action form", func(r *Rule) { r.Actions = []string{"created", "Up-dated"} }, "actions[1]", "must match [a-z0-9_]+"},
		{"action empty", func(r *Rule) { r.Actions = []string{""} }, "actions[0]", "must match"},
		{"no definitions", func(r *Rule) { r.WebhookDefinitions = nil }, "webhook_definitions", "at least one"},
		{"unknown definition", func(r *Rule) { r.WebhookDefinitions = []string{"erp-sync", "nope"} }, "webhook_definitions", `unknown definition "nope"`},
		{"condition syntax", func(r *Rule) { r.Condition = `event.data.status ==` }, "condition", "does not compile: 1:"},
		{"condition undeclared", func(r *Rule) { r.Condition = `customer.status == "x"` }, "condition", "undeclared reference to 'customer'"},
		{"condition not bool", func(r *Rule) { r.Condition = `1 + 2` }, "condition", "must evaluate to a bool, got int"},
		{"condition string", func(r *Rule) { r.Condition = `event.entity + "x"` }, "condition", "must evaluate to a bool, got string"},
		{"condition unknown event field", func(r *Rule) { r.Condition = `event.dta.status == "active"` }, "condition", "refers to event.dta"},
		{"condition too long", func(r *Rule) { r.Condition = strings.Repeat(" ", 4090) + "true && true" }, "condition", "at most 4096"},
		{"condition blank", func(r *Rule) { r.Condition = "  " }, "condition", "is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validRule("customer-activated", "erp-sync")
			tt.mutate(&r)
			doc := &Document{
				WebhookDefinitions: []Definition{validDefinition("erp-sync")},
				WorkflowRules:      []Rule{validRule("first", "erp-sync"), r},
			}
			f := onlyFault(t, doc.Validate(nil))
			if f.Kind != KindRule || f.Index != 1 || f.Field != tt.field || !strings.Contains(f.Message, tt.msg) {
				t.Fatalf("fault = %+v, want field %q, message containing %q", f, tt.field, tt.msg)
			}
		})
	}
}

func onlyFault(t *testing.T, err error) Fault {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate = %v, want a *ValidationError", err)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
	}
	if len(ve.Faults) != 1 {
		t.Fatalf("faults = %v, want exactly one", ve)
	}
	return ve.Faults[0]
}

func TestValidateDuplicatesAndReferences(t *testing.T) {
	doc := &Document{
		WebhookDefinitions: []Definition{validDefinition("a"), validDefinition("a")},
		WorkflowRules: []Rule{
			validRule("r", "a", "in-store"),
			validRule("r", "a"),
		},
	}
	existing := func(id string) bool { return id == "in-store" }
	err := doc.Validate(existing)
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Faults) != 2 {
		t.Fatalf("Validate = %v, want two duplicate faults", err)
	}
	want := `webhook_definitions[1] (id "a"): id: duplicate: webhook_definitions[0] has the same id; ` +
		`workflow_rules[1] (id "r"): id: duplicate: workflow_rules[0] has the same id`
	if err.Error() != want {
		t.Errorf("Error() =\n%s\nwant\n%s", err, want)
	}
	// Without the store, in-store is unknown.
	doc.WebhookDefinitions = doc.WebhookDefinitions[:1]
	doc.WorkflowRules = doc.WorkflowRules[:1]
	if err := doc.Validate(existing); err != nil {
		t.Errorf("Validate with the store = %v", err)
	}
	if err := doc.Validate(nil); err == nil || !strings.Contains(err.Error(), `unknown definition "in-store"`) {
		t.Errorf("Validate without the store = %v", err)
	}
}

// All or nothing: every fault of every entry is reported at once, each naming its entry.
func TestValidateReportsEveryFault(t *testing.T) {
	bad := validDefinition("erp-sync")
	bad.URL = "ftp://x"
	bad.Retry.MaxAttempts = 0
	badRule := validRule("r2", "nope")
	badRule.Condition = "1"
	doc := &Document{
		WebhookDefinitions: []Definition{validDefinition("ok"), bad},
		WorkflowRules:      []Rule{validRule("r1", "ok"), badRule},
	}
	err := doc.Validate(nil)
	want := `webhook_definitions[1] (id "erp-sync"): url: must be http or https; ` +
		`webhook_definitions[1] (id "erp-sync"): retry.max_attempts: must be 1 to 100; ` +
		`workflow_rules[1] (id "r2"): webhook_definitions: unknown definition "nope": not in this document nor in the store; ` +
		`workflow_rules[1] (id "r2"): condition: must evaluate to a bool, got int`
	if err == nil || err.Error() != want {
		t.Fatalf("Validate =\n%v\nwant\n%s", err, want)
	}
	// A bad id is quoted by its own fault only.
	d := validDefinition("Bad Id")
	d.URL = ""
	err = (&Document{WebhookDefinitions: []Definition{d}}).Validate(nil)
	want = `webhook_definitions[0] (id "Bad Id"): id: must match [a-z0-9][a-z0-9-]*; webhook_definitions[0]: url: required`
	if err == nil || err.Error() != want {
		t.Fatalf("Validate =\n%v\nwant\n%s", err, want)
	}
}

func TestValidateNormalises(t *testing.T) {
	d := validDefinition("a")
	d.Method = "patch"
	r := validRule("r", "a", "a")
	r.Actions = []string{"created", "updated", "created"}
	doc := &Document{WebhookDefinitions: []Definition{d}, WorkflowRules: []Rule{r}}
	if err := doc.Validate(nil); err != nil {
		t.Fatal(err)
	}
	if got := doc.WebhookDefinitions[0].Method; got != "PATCH" {
		t.Errorf("method = %q, want PATCH", got)
	}
	if got := doc.WorkflowRules[0]; !reflect.DeepEqual(got.Actions, []string{"created", "updated"}) || !reflect.DeepEqual(got.WebhookDefinitions, []string{"a"}) {
		t.Errorf("rule not deduplicated: %+v", got)
	}
}

func TestValidateAccepts(t *testing.T) {
	d := validDefinition("a-1")
	d.URL = "http://127.0.0.1:8080/x?token=abc"
	d.Method = "PUT"
	d.SecretKey = "whsec_" + strings.Repeat("A", 88)[:84] + "AA==" // 64 bytes
	d.Headers = map[string]string{"X-Api-Version": "2", "Authorization": "Bearer abc\tdef", "X-Empty": ""}
	d.FieldsSet = &FieldsSet{Name: "x", Fields: []string{"a", "address.city"}}
	d.Logging = LoggingRejectedOnly
	d.Timeout = Duration(MaxTimeout)
	d.Retry = RetryPolicy{MaxAttempts: 1, InitialInterval: 1, MaxInterval: 1, Multiplier: 1}
	d.MaxInFlight = 1000
	d.RateLimit = 0.5
	d.DisableAfter = 0
	d.SecretRotationGrace = Duration(MaxSecretRotationGrace)
	r := validRule("r", "a-1")
	r.Condition = `event.data.enabled`
	doc := &Document{WebhookDefinitions: []Definition{d}, WorkflowRules: []Rule{r}}
	if err := doc.Validate(nil); err != nil {
		t.Fatal(err)
	}
	if err := (&Document{}).Validate(nil); err != nil {
		t.Fatalf("empty document: %v", err)
	}
}

func TestCheckSecretKey(t *testing.T) {
	for _, n := range []int{24, 32, 64} {
		key := "whsec_" + b64(n)
		if msg := CheckSecretKey(key); msg != "" {
			t.Errorf("%d bytes: %s", n, msg)
		}
	}
	for _, n := range []int{23, 65} {
		if msg := CheckSecretKey("whsec_" + b64(n)); msg == "" {
			t.Errorf("%d bytes accepted", n)
		}
	}
}
