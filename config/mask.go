package config

import (
	"maps"
	"slices"
	"time"

	"github.com/webhookd/webhookd/redact"
)

// Mask is what replaces the hidden part of a secret (redact.Mask).
const Mask = redact.Mask

// MaskSecrets returns a copy of d, sharing nothing with it, with its credentials masked by
// package redact, the one masking of webhookd: the secret key and the previous one of a
// rotation (with PreviousSecretUntil, when it stops signing), the values of credential headers
// (redact.CredentialHeader) and the credential-like query parameters of the URL (redact.URL).
// Validate refuses masked values, so a masked copy applied back is refused rather than stored.
func (d Definition) MaskSecrets() Definition {
	c := d.Clone()
	c.SecretKey = redact.Secret(c.SecretKey)
	c.PreviousSecretKey = redact.Secret(c.PreviousSecretKey)
	c.PreviousSecretUntil = nil
	if end, ok := d.PreviousSecretEnds(); ok {
		c.PreviousSecretUntil = &end
	}
	c.URL = redact.URL(c.URL)
	for name, v := range c.Headers {
		c.Headers[name] = redact.Header(name, v)
	}
	return c
}

// MaskSecrets returns a copy of the document, sharing nothing with it, with every definition's
// secrets masked (see Definition.MaskSecrets).
func (doc *Document) MaskSecrets() *Document {
	if doc == nil {
		return nil
	}
	c := &Document{}
	if doc.WebhookDefinitions != nil {
		c.WebhookDefinitions = make([]Definition, len(doc.WebhookDefinitions))
		for i, d := range doc.WebhookDefinitions {
			c.WebhookDefinitions[i] = d.MaskSecrets()
		}
	}
	if doc.WorkflowRules != nil {
		c.WorkflowRules = make([]Rule, len(doc.WorkflowRules))
		for i, r := range doc.WorkflowRules {
			c.WorkflowRules[i] = r.Clone()
		}
	}
	return c
}

// Clone returns a deep copy of d: it shares no map, slice or pointer with d.
func (d Definition) Clone() Definition {
	d.Headers = maps.Clone(d.Headers)
	if d.FieldsSet != nil {
		fs := *d.FieldsSet
		fs.Fields = slices.Clone(fs.Fields)
		d.FieldsSet = &fs
	}
	for _, p := range []**time.Time{&d.DisabledAt, &d.SecretRotatedAt, &d.PreviousSecretUntil} {
		if *p != nil {
			t := **p
			*p = &t
		}
	}
	return d
}

// Clone returns a deep copy of r: it shares no slice with r.
func (r Rule) Clone() Rule {
	r.Actions = slices.Clone(r.Actions)
	r.WebhookDefinitions = slices.Clone(r.WebhookDefinitions)
	return r
}
