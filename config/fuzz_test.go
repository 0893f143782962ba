package config

import (
	"encoding/json"
	"reflect"
	"testing"
)

func FuzzParseYAML(f *testing.F) {
	f.Add([]byte(sampleYAML))
	f.Add([]byte("webhook_definitions:\n  - id: a\n    retry: &r {max_attempts: 3}\n  - retry: {<<: *r}\n"))
	f.Add([]byte("workflow_rules: [{id: r, condition: 'event.data.x == 1'}]\n"))
	f.Add([]byte("webhook_definitions: [~, 1, [a], {timeout: [1]}]\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		doc, err := ParseYAML(b)
		if err != nil {
			if doc != nil {
				t.Fatal("a document with an error")
			}
			return
		}
		exercise(t, doc)
	})
}

func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(`{"webhook_definitions":[{"id":"a","retry":{"max_attempts":3}}],"user":"u"}`))
	f.Add([]byte(`{"workflow_rules":[{"id":"r","condition":"event.data.x == 1","actions":["a","a"]}]}`))
	f.Add([]byte(`{"webhook_definitions":[null,{"timeout":1},{"headers":{"A":"b"}}]}`))
	f.Add([]byte(`{"webhook_definitions":{}} {}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		doc, err := ParseJSON(b)
		if err != nil {
			if doc != nil {
				t.Fatal("a document with an error")
			}
			return
		}
		exercise(t, doc)
		// A valid document survives a JSON round trip unchanged.
		if doc.Validate(nil) == nil {
			out, err := json.Marshal(doc)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			again, err := ParseJSON(out)
			if err != nil {
				t.Fatalf("ParseJSON(Marshal(doc)) = %v", err)
			}
			if !reflect.DeepEqual(normalise(again), normalise(doc)) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", again, doc)
			}
		}
	})
}

// exercise runs what follows a parse; none of it may panic.
func exercise(t *testing.T, doc *Document) {
	t.Helper()
	_ = doc.MaskSecrets()
	err := doc.Validate(func(id string) bool { return len(id)%2 == 0 })
	if err != nil && err.Error() == "" {
		t.Fatal("an error without a message")
	}
}

// normalise makes empty and nil collections equal: JSON does not keep the difference.
func normalise(doc *Document) *Document {
	c := doc.MaskSecrets()
	for i := range c.WebhookDefinitions {
		c.WebhookDefinitions[i].SecretKey = ""
		if len(c.WebhookDefinitions[i].Headers) == 0 {
			c.WebhookDefinitions[i].Headers = nil
		}
	}
	for i := range c.WorkflowRules {
		r := &c.WorkflowRules[i]
		if len(r.Actions) == 0 {
			r.Actions = nil
		}
		if len(r.WebhookDefinitions) == 0 {
			r.WebhookDefinitions = nil
		}
	}
	if len(c.WebhookDefinitions) == 0 {
		c.WebhookDefinitions = nil
	}
	if len(c.WorkflowRules) == 0 {
		c.WorkflowRules = nil
	}
	return c
}
