package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Defaults returns a definition holding the section 4 defaults and nothing else. Decoding starts
// from it, so a field left out of a document takes its default.
func Defaults() Definition {
	return Definition{
		Method:       DefaultMethod,
		Logging:      LoggingAll,
		Timeout:      Duration(DefaultTimeout),
		Retry:        DefaultRetry(),
		MaxInFlight:  DefaultMaxInFlight,
		MaxQueued:    DefaultMaxQueued,
		DisableAfter: Duration(DefaultDisableAfter),
		Active:       true,

		SecretRotationGrace: Duration(DefaultSecretRotationGrace),
	}
}

// DefaultRetry returns the section 4 backoff schedule.
func DefaultRetry() RetryPolicy {
	return RetryPolicy{
		MaxAttempts:     DefaultMaxAttempts,
		InitialInterval: Duration(DefaultInitialInterval),
		MaxInterval:     Duration(DefaultMaxInterval),
		Multiplier:      DefaultMultiplier,
	}
}

func ruleDefaults() Rule { return Rule{Active: true} }

// The plain types have the fields but not the methods, so decoding into them does not recurse.
type (
	plainDefinition Definition
	plainRule       Rule
	plainRetry      RetryPolicy
	plainDocument   Document
)

// UnmarshalJSON decodes a definition over the section 4 defaults. JSON null leaves it unchanged.
func (d *Definition) UnmarshalJSON(b []byte) error {
	return decodeJSONOver(b, (*plainDefinition)(d), plainDefinition(Defaults()))
}

// UnmarshalJSON decodes a rule over its defaults (active). JSON null leaves it unchanged.
func (r *Rule) UnmarshalJSON(b []byte) error {
	return decodeJSONOver(b, (*plainRule)(r), plainRule(ruleDefaults()))
}

// UnmarshalJSON decodes a retry policy over the section 4 defaults, so a partial policy keeps
// the defaults of the fields it leaves out. JSON null leaves it unchanged.
func (rp *RetryPolicy) UnmarshalJSON(b []byte) error {
	return decodeJSONOver(b, (*plainRetry)(rp), plainRetry(DefaultRetry()))
}

// decodeJSONOver decodes b over start and stores the result in dst only if it decodes. P is a
// plain type, so decoding does not call the method that called it. JSON null leaves dst as is.
func decodeJSONOver[P any](b []byte, dst *P, start P) error {
	if strings.TrimSpace(string(b)) == "null" {
		return nil
	}
	if err := json.Unmarshal(b, &start); err != nil {
		return err
	}
	*dst = start
	return nil
}

// UnmarshalYAML decodes a definition over the section 4 defaults. Unknown keys are errors: the
// yaml package forgets its strict mode inside custom unmarshalers, so the keys are checked here.
func (d *Definition) UnmarshalYAML(n *yaml.Node) error {
	fieldsSet := checkKeys(mappingValue(n, "fields_set"), fieldsSetKeys, "fields_set")
	return decodeYAMLOver(n, definitionShape, (*plainDefinition)(d), plainDefinition(Defaults()), fieldsSet...)
}

// UnmarshalYAML decodes a rule over its defaults, refusing unknown keys.
func (r *Rule) UnmarshalYAML(n *yaml.Node) error {
	return decodeYAMLOver(n, ruleShape, (*plainRule)(r), plainRule(ruleDefaults()))
}

// UnmarshalYAML decodes a retry policy over the section 4 defaults, refusing unknown keys.
func (rp *RetryPolicy) UnmarshalYAML(n *yaml.Node) error {
	return decodeYAMLOver(n, retryShape, (*plainRetry)(rp), plainRetry(DefaultRetry()))
}

// UnmarshalYAML decodes a document, refusing unknown keys with their line.
func (doc *Document) UnmarshalYAML(n *yaml.Node) error {
	return decodeYAMLOver(n, documentShape, (*plainDocument)(doc), plainDocument{})
}

// yamlShape is what the strict YAML decoding of one type needs: its keys, and how messages name it.
type yamlShape struct {
	mapping string // completes "... must be a mapping of field: value"
	name    string // completes "unknown field "x" in ..."
	keys    []string
}

var (
	definitionShape = yamlShape{"a webhook definition", "webhook definition", yamlKeys(reflect.TypeFor[Definition]())}
	ruleShape       = yamlShape{"a workflow rule", "workflow rule", yamlKeys(reflect.TypeFor[Rule]())}
	retryShape      = yamlShape{"retry", "retry", yamlKeys(reflect.TypeFor[RetryPolicy]())}
	documentShape   = yamlShape{"a config document", "document", yamlKeys(reflect.TypeFor[Document]())}
	fieldsSetKeys   = yamlKeys(reflect.TypeFor[FieldsSet]())
)

// decodeYAMLOver decodes mapping n over start and stores the result in dst only if there is no
// fault. Every fault is reported at once, in one *yaml.TypeError (so the decoder goes on to the
// document's other entries): n's unknown keys, then more (faults of nested keys the caller
// checked), then the decoder's own. P is a plain type, so decoding does not recurse.
func decodeYAMLOver[P any](n *yaml.Node, shape yamlShape, dst *P, start P, more ...string) error {
	if err := mustBeMapping(n, shape.mapping); err != nil {
		return err
	}
	errs := append(checkKeys(n, shape.keys, shape.name), more...)
	if err := n.Decode(&start); err != nil {
		errs = append(errs, yamlErrors(err)...)
	}
	if len(errs) > 0 {
		return &yaml.TypeError{Errors: errs}
	}
	*dst = start
	return nil
}

// yamlKeys lists the YAML names of a struct's fields from their tags, so the strict check can
// never disagree with what the decoder accepts.
func yamlKeys(t reflect.Type) []string {
	var keys []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		keys = append(keys, name)
	}
	sort.Strings(keys)
	return keys
}

// checkKeys reports every key of mapping n that is not in known, following merge keys (<<) into
// the mappings they merge. A node that is not a mapping is left to the decoder to complain about.
func checkKeys(n *yaml.Node, known []string, what string) []string {
	return (&keyChecker{known: known, what: what, seen: map[*yaml.Node]bool{}}).check(n)
}

// keyChecker visits each mapping once: merges can name the same anchor many times over, and
// without the seen set a few lines of YAML would take exponential time.
type keyChecker struct {
	known []string
	what  string
	seen  map[*yaml.Node]bool
}

func (c *keyChecker) check(n *yaml.Node) []string {
	n = resolveAlias(n)
	if n == nil || n.Kind != yaml.MappingNode || c.seen[n] {
		return nil
	}
	c.seen[n] = true
	var errs []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.ShortTag() == "!!merge" {
			v = resolveAlias(v)
			if v != nil && v.Kind == yaml.SequenceNode {
				for _, m := range v.Content {
					errs = append(errs, c.check(m)...)
				}
			} else {
				errs = append(errs, c.check(v)...)
			}
			continue
		}
		if k.Kind == yaml.ScalarNode && contains(c.known, k.Value) {
			continue
		}
		msg := fmt.Sprintf("line %d: unknown field %q in %s", k.Line, k.Value, c.what)
		if s := closest(k.Value, c.known); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		errs = append(errs, msg)
	}
	return errs
}

// mappingValue returns the value of key in mapping n (merge keys are not followed: a merged
// fields_set is still checked by its own decode, just without the unknown key check).
func mappingValue(n *yaml.Node, key string) *yaml.Node {
	n = resolveAlias(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// mustBeMapping refuses anything but a mapping with a message in the document's terms, rather
// than the Go type the decoder would name.
func mustBeMapping(n *yaml.Node, what string) error {
	if n = resolveAlias(n); n != nil && n.Kind == yaml.MappingNode {
		return nil
	}
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s must be a mapping of field: value", n.Line, what)}}
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	// Aliases can chain; the bound stops a pathological chain without trusting the parser.
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func yamlErrors(err error) []string {
	if te, ok := err.(*yaml.TypeError); ok {
		return te.Errors
	}
	return []string{err.Error()}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// closest returns the known key nearest to s by edit distance, if it is near enough to be a typo.
func closest(s string, known []string) string {
	best, bestD := "", 3
	if len(s) > 64 {
		return ""
	}
	for _, k := range known {
		if d := editDistance(s, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
