package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/webhookd/webhookd/webhook"
)

// Kinds of entry a Fault can be in.
const (
	KindDefinition = "webhook_definition"
	KindRule       = "workflow_rule"
)

// Bounds of section 4 values that the contract leaves open.
const (
	MaxIDLength    = 64
	MaxNameLength  = 256
	MaxURLLength   = 2048
	MaxTimeout     = 5 * time.Minute
	MaxMaxAttempts = 100
	MaxMaxInFlight = 1000
	MaxMaxQueued   = 1_000_000
	// MaxSecretRotationGrace bounds secret_rotation_grace: a replaced key that signs for longer
	// than a month is no longer being rotated out.
	MaxSecretRotationGrace = 30 * 24 * time.Hour
	MinSecretBytes         = webhook.MinSecretBytes
	MaxSecretBytes         = webhook.MaxSecretBytes
	SecretPrefix           = webhook.SecretPrefix
	maxHeaderLength        = 8 << 10
	maxFieldsInSet         = 1000
	maxFieldPathSize       = 1024
)

var (
	idRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	tokenRE = regexp.MustCompile(`^[a-z0-9_]+$`)
)

// ErrInvalid is matched (errors.Is) by every *ValidationError.
var ErrInvalid = errors.New("invalid config")

// Fault is one thing wrong with one entry of a document.
type Fault struct {
	Kind    string // KindDefinition or KindRule
	Index   int    // position in webhook_definitions or workflow_rules
	ID      string // the entry's id, if it has one
	Field   string // e.g. "url", "retry.max_attempts", "headers"
	Message string // what is wrong; never holds a secret
}

// Error reads like `webhook_definitions[1] (id "erp-sync"): url: must be http or https`.
func (f Fault) Error() string {
	var b strings.Builder
	if f.Kind == KindRule {
		fmt.Fprintf(&b, "workflow_rules[%d]", f.Index)
	} else {
		fmt.Fprintf(&b, "webhook_definitions[%d]", f.Index)
	}
	if f.ID != "" {
		fmt.Fprintf(&b, " (id %q)", f.ID)
	}
	b.WriteString(": ")
	if f.Field != "" {
		b.WriteString(f.Field)
		b.WriteString(": ")
	}
	b.WriteString(f.Message)
	return b.String()
}

// ValidationError holds every fault of a document; one fault refuses the whole document.
type ValidationError struct {
	Faults []Fault
}

// Error lists every fault, separated by "; ", so that a single reply tells the operator all there
// is to fix.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Faults))
	for i, f := range e.Faults {
		parts[i] = f.Error()
	}
	return strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

// Validate checks the whole document and returns a *ValidationError with every fault, or nil.
// existing reports whether a definition id is already in the store, so that a rule may name a
// definition applied earlier; nil means none is.
//
// Validate also normalises the document in place: methods upper-cased, duplicate actions and
// definition ids of a rule removed (keeping the first).
//
// Decisions the contract leaves open: a URL with user info is refused, because the URL is logged
// and stored with every webhook request (put credentials in headers); headers webhookd sets itself
// or that control the connection are refused; a value that looks masked ("…", as replies show
// secrets) is refused so that a document read back from a reply cannot overwrite a secret.
func (doc *Document) Validate(existing func(id string) bool) error {
	v := &validator{}
	defIDs := make(map[string]int, len(doc.WebhookDefinitions))
	for i := range doc.WebhookDefinitions {
		d := &doc.WebhookDefinitions[i]
		v.kind, v.index, v.id = KindDefinition, i, d.ID
		if prev, dup := defIDs[d.ID]; dup && d.ID != "" {
			v.fault("id", "duplicate: webhook_definitions[%d] has the same id", prev)
		} else {
			defIDs[d.ID] = i
		}
		v.definition(d)
	}
	ruleIDs := make(map[string]int, len(doc.WorkflowRules))
	for i := range doc.WorkflowRules {
		r := &doc.WorkflowRules[i]
		v.kind, v.index, v.id = KindRule, i, r.ID
		if prev, dup := ruleIDs[r.ID]; dup && r.ID != "" {
			v.fault("id", "duplicate: workflow_rules[%d] has the same id", prev)
		} else {
			ruleIDs[r.ID] = i
		}
		v.rule(r, func(id string) bool {
			if _, ok := defIDs[id]; ok {
				return true
			}
			return existing != nil && existing(id)
		})
	}
	if len(v.faults) > 0 {
		return &ValidationError{Faults: v.faults}
	}
	return nil
}

type validator struct {
	kind, id   string
	index      int
	faults     []Fault
	conditions map[string]error // compiled conditions and their outcome
}

func (v *validator) fault(field, format string, args ...any) {
	v.faults = append(v.faults, Fault{Kind: v.kind, Index: v.index, ID: v.id, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) checkID(id string) {
	switch {
	case id == "":
		v.fault("id", "required")
	case len(id) > MaxIDLength:
		v.fault("id", "is %d characters long, at most %d are allowed", len(id), MaxIDLength)
	case !idRE.MatchString(id):
		v.fault("id", "must match [a-z0-9][a-z0-9-]*")
	}
	if !idRE.MatchString(id) {
		// A bad id would be echoed in every later fault of the entry; quote it once, above.
		v.id = ""
	}
}

func (v *validator) checkName(name string) {
	switch {
	case strings.TrimSpace(name) == "":
		v.fault("name", "required")
	case utf8.RuneCountInString(name) > MaxNameLength:
		v.fault("name", "is longer than %d characters", MaxNameLength)
	case !utf8.ValidString(name):
		v.fault("name", "is not valid UTF-8")
	}
}

func (v *validator) definition(d *Definition) {
	v.checkID(d.ID)
	v.checkName(d.Name)
	v.checkURL(d.URL)

	d.Method = strings.ToUpper(d.Method)
	switch d.Method {
	case "POST", "PUT", "PATCH":
	default:
		v.fault("method", "must be POST, PUT or PATCH")
	}
	if msg := CheckSecretKey(d.SecretKey); msg != "" {
		v.fault("secret_key", "%s", msg)
	}
	v.checkHeaders(d.Headers)
	if fs := d.FieldsSet; fs != nil {
		if strings.TrimSpace(fs.Name) == "" {
			v.fault("fields_set.name", "required when fields_set is given")
		}
		switch {
		case len(fs.Fields) == 0:
			v.fault("fields_set.fields", "must name at least one field")
		case len(fs.Fields) > maxFieldsInSet:
			v.fault("fields_set.fields", "has %d fields, at most %d are allowed", len(fs.Fields), maxFieldsInSet)
		}
		for i, p := range fs.Fields {
			if len(p) > maxFieldPathSize || p == "" || slices.Contains(strings.Split(p, "."), "") {
				v.fault(fmt.Sprintf("fields_set.fields[%d]", i), "must be a dot path of non-empty names, such as address.city")
			}
		}
	}
	switch d.Logging {
	case LoggingAll, LoggingRejectedOnly:
	default:
		v.fault("logging", "must be %s or %s", LoggingAll, LoggingRejectedOnly)
	}
	if t := d.Timeout.D(); t <= 0 || t > MaxTimeout {
		v.fault("timeout", "must be more than 0s and at most %s", MaxTimeout)
	}
	r := d.Retry
	if r.MaxAttempts < 1 || r.MaxAttempts > MaxMaxAttempts {
		v.fault("retry.max_attempts", "must be 1 to %d", MaxMaxAttempts)
	}
	if r.InitialInterval <= 0 {
		v.fault("retry.initial_interval", "must be more than 0s")
	}
	if r.MaxInterval < r.InitialInterval {
		v.fault("retry.max_interval", "must be at least initial_interval (%s)", r.InitialInterval)
	}
	if !(r.Multiplier >= 1) || math.IsInf(r.Multiplier, 0) {
		v.fault("retry.multiplier", "must be a finite number, at least 1")
	}
	if d.MaxInFlight < 1 || d.MaxInFlight > MaxMaxInFlight {
		v.fault("max_in_flight", "must be 1 to %d", MaxMaxInFlight)
	}
	if d.MaxQueued < 1 || d.MaxQueued > MaxMaxQueued {
		v.fault("max_queued", "must be 1 to %d", MaxMaxQueued)
	}
	if !(d.RateLimit >= 0) || math.IsInf(d.RateLimit, 0) {
		v.fault("rate_limit", "must be a finite number, at least 0 (0: no limit)")
	}
	if d.DisableAfter < 0 {
		v.fault("disable_after", "must not be negative (0 turns the check off)")
	}
	if g := d.SecretRotationGrace.D(); g < 0 || g > MaxSecretRotationGrace {
		v.fault("secret_rotation_grace", "must be 0 (the previous key stops signing at once) to %s", Duration(MaxSecretRotationGrace).Text())
	}
}

// checkURL never quotes the URL: its query may hold a token.
func (v *validator) checkURL(raw string) {
	if raw == "" {
		v.fault("url", "required")
		return
	}
	if len(raw) > MaxURLLength {
		v.fault("url", "is %d characters long, at most %d are allowed", len(raw), MaxURLLength)
		return
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		v.fault("url", "does not parse")
	case u.Scheme != "http" && u.Scheme != "https":
		v.fault("url", "must be http or https")
	case u.Host == "" || u.Hostname() == "":
		v.fault("url", "must have a host")
	case u.User != nil:
		v.fault("url", "must not hold user info: the URL is logged and stored with every request; send credentials in headers")
	case strings.Contains(raw, Mask) || strings.Contains(strings.ToUpper(raw), maskEscaped):
		v.fault("url", "looks masked, as replies show it; give the real URL")
	}
}

// maskEscaped is Mask as a URL escapes it.
const maskEscaped = "%E2%80%A6"

// CheckSecretKey returns why key is not a valid secret key ("whsec_" and the standard base64 of
// 24 to 64 bytes), or "" if it is. The message never holds the key. The format is the one
// delivery signs with, webhook.DecodeSecret, so a key that validates is a key that signs.
func CheckSecretKey(key string) string {
	switch {
	case key == "":
		return "required"
	case strings.Contains(key, Mask):
		return "looks masked, as replies show it; give the whole key"
	}
	if _, err := webhook.DecodeSecret(key); err != nil {
		return "must be whsec_ followed by the standard base64 (with padding) of 24 to 64 bytes"
	}
	return ""
}

// reservedHeaders are set by webhookd on every request, or belong to the connection; a definition
// cannot set them.
var reservedHeaders = map[string]string{
	"content-type":        "is set by webhookd",
	"user-agent":          "is set by webhookd",
	"webhook-id":          "is set by webhookd",
	"webhook-timestamp":   "is set by webhookd",
	"webhook-signature":   "is set by webhookd",
	"host":                "comes from the url",
	"content-length":      "is set by webhookd",
	"connection":          "belongs to the connection",
	"keep-alive":          "belongs to the connection",
	"proxy-connection":    "belongs to the connection",
	"transfer-encoding":   "belongs to the connection",
	"te":                  "belongs to the connection",
	"trailer":             "belongs to the connection",
	"upgrade":             "belongs to the connection",
	"content-encoding":    "would misdescribe the body webhookd sends",
	"expect":              "belongs to the connection",
	"proxy-authorization": "belongs to the connection",
}

func (v *validator) checkHeaders(h map[string]string) {
	seen := make(map[string]string, len(h))
	for _, name := range slices.Sorted(maps.Keys(h)) {
		value := h[name]
		field := "headers." + name
		if !ValidHeaderName(name) {
			v.fault("headers", "%q is not a valid header name", name)
			continue
		}
		lower := strings.ToLower(name)
		if why, ok := reservedHeaders[lower]; ok {
			v.fault("headers", "%s %s and cannot be set", name, why)
			continue
		}
		if other, dup := seen[lower]; dup {
			v.fault("headers", "%s and %s are the same header", other, name)
			continue
		}
		seen[lower] = name
		switch {
		case len(value) > maxHeaderLength:
			v.fault(field, "value is longer than %d bytes", maxHeaderLength)
		case strings.Contains(value, Mask):
			v.fault(field, "value looks masked, as replies show it; give the real value")
		case !ValidHeaderValue(value):
			v.fault(field, "value holds a control character")
		}
	}
}

// ValidHeaderName reports whether s is an RFC 9110 token, as a header name must be. Validate and
// package delivery (which checks each attempt's headers too) use it both.
func ValidHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// ValidHeaderValue reports whether s holds no control character but tab (CR and LF would split
// the request).
func ValidHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

func (v *validator) rule(r *Rule, defined func(string) bool) {
	v.checkID(r.ID)
	v.checkName(r.Name)
	switch {
	case r.Entity == "":
		v.fault("entity", "required")
	case !tokenRE.MatchString(r.Entity):
		v.fault("entity", "must match [a-z0-9_]+")
	}
	r.Actions = dedupe(r.Actions)
	for i, a := range r.Actions {
		if !tokenRE.MatchString(a) {
			v.fault(fmt.Sprintf("actions[%d]", i), "must match [a-z0-9_]+")
		}
	}
	r.WebhookDefinitions = dedupe(r.WebhookDefinitions)
	if len(r.WebhookDefinitions) == 0 {
		v.fault("webhook_definitions", "must name at least one definition")
	}
	for _, id := range r.WebhookDefinitions {
		if !defined(id) {
			v.fault("webhook_definitions", "unknown definition %q: not in this document nor in the store", id)
		}
	}
	if r.Condition != "" {
		err, done := v.conditions[r.Condition]
		if !done {
			// Many rules often share a condition; compile each text once.
			_, err = CompileCondition(r.Condition)
			if v.conditions == nil {
				v.conditions = make(map[string]error)
			}
			v.conditions[r.Condition] = err
		}
		if err != nil {
			var ce *ConditionError
			if errors.As(err, &ce) {
				v.fault("condition", "%s", ce.Reason)
			} else {
				v.fault("condition", "%v", err)
			}
		}
	}
}

// dedupe removes repeated values, keeping the first of each and the order.
func dedupe(list []string) []string {
	if len(list) < 2 {
		return list
	}
	seen := make(map[string]struct{}, len(list))
	out := make([]string, 0, len(list))
	for _, s := range list {
		if _, dup := seen[s]; !dup {
			seen[s] = struct{}{}
			out = append(out, s)
		}
	}
	return out
}
