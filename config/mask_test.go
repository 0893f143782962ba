package config

import (
	"strings"
	"testing"
	"time"
)

func TestMaskSecrets(t *testing.T) {
	at := time.Unix(1700000000, 0)
	d := validDefinition("a")
	d.Headers = map[string]string{
		"Authorization":      "Bearer 0123456789abcdefghijklmn",
		"X-Api-Key":          "k",
		"X-Api-Version":      "2",
		"Webhook-Auth-Token": "0123456789abcdefghijklmnopq",
	}
	d.URL = "https://erp.example.com/hook?token=0123456789abcdefghijklmnop&x=1"
	d.FieldsSet = &FieldsSet{Name: "x", Fields: []string{"a"}}
	d.DisabledAt = &at
	r := validRule("r", "a")
	r.Actions = []string{"created"}
	doc := &Document{WebhookDefinitions: []Definition{d}, WorkflowRules: []Rule{r}}

	m := doc.MaskSecrets()
	md := m.WebhookDefinitions[0]
	if md.SecretKey != "whsec_…LaSw" {
		t.Errorf("secret_key = %q", md.SecretKey)
	}
	want := map[string]string{"Authorization": "…klmn", "X-Api-Key": "…", "X-Api-Version": "2", "Webhook-Auth-Token": "…nopq"}
	if md.URL != "https://erp.example.com/hook?token=…mnop&x=1" {
		t.Errorf("url = %q", md.URL)
	}
	for k, v := range want {
		if md.Headers[k] != v {
			t.Errorf("header %s = %q, want %q", k, md.Headers[k], v)
		}
	}
	// The copy shares nothing with the original.
	md.Headers["X-Api-Version"] = "3"
	md.FieldsSet.Fields[0] = "b"
	*md.DisabledAt = time.Time{}
	m.WorkflowRules[0].Actions[0] = "deleted"
	o := doc.WebhookDefinitions[0]
	if o.SecretKey != testKey || o.Headers["X-Api-Version"] != "2" || o.Headers["Authorization"] != "Bearer 0123456789abcdefghijklmn" ||
		o.FieldsSet.Fields[0] != "a" || !o.DisabledAt.Equal(at) || doc.WorkflowRules[0].Actions[0] != "created" {
		t.Errorf("the original changed: %+v %+v", o, doc.WorkflowRules[0])
	}
	// A masked document applied back is refused rather than stored.
	err := m.Validate(nil)
	if err == nil || !strings.Contains(err.Error(), "secret_key: looks masked") || !strings.Contains(err.Error(), "headers.Authorization: value looks masked") ||
		!strings.Contains(err.Error(), "url: looks masked") {
		t.Errorf("Validate(masked) = %v", err)
	}
	if (*Document)(nil).MaskSecrets() != nil {
		t.Error("nil document")
	}
}
