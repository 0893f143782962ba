package config

import (
	"strings"
	"testing"
	"time"
)

func TestMaskSecret(t *testing.T) {
	tests := map[string]string{
		"":                                       "",
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw": "whsec_…LaSw",
		"short":                                  "whsec_…",
	}
	for in, want := range tests {
		if got := MaskSecret(in); got != want {
			t.Errorf("MaskSecret(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMaskSecrets(t *testing.T) {
	at := time.Unix(1700000000, 0)
	d := validDefinition("a")
	d.Headers = map[string]string{
		"Authorization": "Bearer 0123456789abcdef",
		"X-Api-Key":     "k",
		"X-Api-Version": "2",
	}
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
	want := map[string]string{"Authorization": "…cdef", "X-Api-Key": "…", "X-Api-Version": "2"}
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
	if o.SecretKey != testKey || o.Headers["X-Api-Version"] != "2" || o.Headers["Authorization"] != "Bearer 0123456789abcdef" ||
		o.FieldsSet.Fields[0] != "a" || !o.DisabledAt.Equal(at) || doc.WorkflowRules[0].Actions[0] != "created" {
		t.Errorf("the original changed: %+v %+v", o, doc.WorkflowRules[0])
	}
	// A masked document applied back is refused rather than stored.
	err := m.Validate(nil)
	if err == nil || !strings.Contains(err.Error(), "secret_key: looks masked") || !strings.Contains(err.Error(), "headers.Authorization: value looks masked") {
		t.Errorf("Validate(masked) = %v", err)
	}
	if (*Document)(nil).MaskSecrets() != nil {
		t.Error("nil document")
	}
}
