package config

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/webhookd/webhookd/webhook"
)

// Mask is what replaces the hidden part of a secret.
const Mask = "…"

// MaskSecret returns key as replies show it: webhook.MaskSecret (section 5: "whsec_…LaSw"; a
// key too short for that to hide most of it shows none of it), always with the whsec_ prefix,
// even for a key that lacks it.
func MaskSecret(key string) string {
	if key == "" {
		return ""
	}
	return webhook.MaskSecret(SecretPrefix + strings.TrimPrefix(key, SecretPrefix))
}

// SensitiveHeader reports whether a header's value is likely a credential (Authorization,
// Cookie, any name with auth, token, secret, password, key, signature, credential or session),
// and so is masked wherever webhookd shows or stores it.
func SensitiveHeader(name string) bool {
	n := strings.ToLower(name)
	if n == "authorization" || n == "cookie" {
		return true
	}
	for _, w := range []string{"auth", "token", "secret", "password", "passwd", "key", "signature", "credential", "session"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// MaskHeaderValue hides a header value like MaskSecret does, without the prefix.
func MaskHeaderValue(v string) string {
	if len(v) < 16 {
		return Mask
	}
	return Mask + v[len(v)-4:]
}

// MaskSecrets returns a copy of d, sharing nothing with it, whose secret key, previous secret key
// and credential-like header values (Authorization, X-Api-Key, anything naming a token, key,
// secret or password) are masked, with PreviousSecretUntil set when there is a previous key. Validate refuses masked values, so a masked copy applied back is refused rather than
// stored.
func (d Definition) MaskSecrets() Definition {
	c := d.Clone()
	c.SecretKey = MaskSecret(c.SecretKey)
	// Of a rotation, replies show the previous key masked and when it stops signing.
	c.PreviousSecretKey = MaskSecret(c.PreviousSecretKey)
	c.PreviousSecretUntil = nil
	if end, ok := d.PreviousSecretEnds(); ok {
		c.PreviousSecretUntil = &end
	}
	for name, v := range c.Headers {
		if SensitiveHeader(name) {
			c.Headers[name] = MaskHeaderValue(v)
		}
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
