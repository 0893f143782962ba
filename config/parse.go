package config

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"

	"go.yaml.in/yaml/v3"
)

// MaxDocumentSize bounds a document in either form. Thousands of definitions and rules fit well
// under it; anything larger is a mistake or an attack, and is refused before it is decoded.
const MaxDocumentSize = 4 << 20

// ParseYAML decodes a section 4 document from YAML, strictly: an unknown key anywhere is an error
// naming its line (a typo in a config file must not pass silently), and so is a value of the
// wrong type or a second YAML document in the input. Empty input is an empty document. The
// result still needs Validate.
func ParseYAML(b []byte) (*Document, error) {
	if len(b) > MaxDocumentSize {
		return nil, fmt.Errorf("parse YAML config: document is %d bytes, at most %d are allowed", len(b), MaxDocumentSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var doc Document
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &Document{}, nil
		}
		return nil, fmt.Errorf("parse YAML config: %w", byLine(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("parse YAML config: more than one YAML document in the input")
	}
	return &doc, nil
}

// byLine sorts the messages of a yaml.TypeError by line (nested entries report theirs after the
// document's, which reads out of order) and drops repeats.
func byLine(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	line := func(s string) int {
		var n int
		if _, err := fmt.Sscanf(s, "line %d:", &n); err != nil {
			return math.MaxInt
		}
		return n
	}
	slices.SortStableFunc(te.Errors, func(a, b string) int { return cmp.Compare(line(a), line(b)) })
	// Aliases repeat a fault once per use; once is enough.
	te.Errors = slices.Compact(te.Errors)
	return err
}

// ParseJSON decodes a section 4 document from JSON, as carried by config.apply. Unknown fields are
// ignored (section 6: a control request also carries "user"), but a known field of the wrong type
// is an error, and so is anything but one JSON object.
func ParseJSON(b []byte) (*Document, error) {
	if len(b) > MaxDocumentSize {
		return nil, fmt.Errorf("parse JSON config: document is %d bytes, at most %d are allowed", len(b), MaxDocumentSize)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil, errors.New("parse JSON config: not a JSON object")
	}
	// Entries are decoded one by one so that an error can name the entry it is in.
	var raw struct {
		Definitions []json.RawMessage `json:"webhook_definitions"`
		Rules       []json.RawMessage `json:"workflow_rules"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("parse JSON config: %w", jsonError(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("parse JSON config: data after the JSON object")
	}
	doc := &Document{}
	if raw.Definitions != nil {
		doc.WebhookDefinitions = make([]Definition, len(raw.Definitions))
	}
	for i, m := range raw.Definitions {
		if err := json.Unmarshal(m, &doc.WebhookDefinitions[i]); err != nil {
			return nil, fmt.Errorf("parse JSON config: webhook_definitions[%d]: %w", i, jsonError(err))
		}
	}
	if raw.Rules != nil {
		doc.WorkflowRules = make([]Rule, len(raw.Rules))
	}
	for i, m := range raw.Rules {
		if err := json.Unmarshal(m, &doc.WorkflowRules[i]); err != nil {
			return nil, fmt.Errorf("parse JSON config: workflow_rules[%d]: %w", i, jsonError(err))
		}
	}
	return doc, nil
}

// jsonError rewords a type error so that it names the field by its JSON path and the JSON types,
// rather than by the Go types behind them.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return &fieldTypeError{err: te}
	}
	return err
}

type fieldTypeError struct{ err *json.UnmarshalTypeError }

func (e *fieldTypeError) Error() string {
	return fmt.Sprintf("field %q: got a JSON %s, want %s", e.err.Field, e.err.Value, JSONKind(e.err.Type))
}

func (e *fieldTypeError) Unwrap() error { return e.err }

// JSONKind names the JSON form a Go type takes, for "got a JSON string, want an integer"
// messages (here and in the control plane's BAD_REQUEST replies).
func JSONKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}
