package config

import (
	"encoding/json"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written as Go duration strings ("10s", "1h30m") in JSON and YAML,
// and stored as that string in the documents so they stay readable.
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a duration string. A bare number is refused: "10" could mean anything.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"10s\": %s", b)
	}
	return d.parse(s)
}

// MarshalYAML writes the duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	// A *yaml.TypeError lets the decoder go on and report the document's other faults too.
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: duration must be a string such as \"10s\"", n.Line)}}
	}
	if err := d.parse(n.Value); err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	return nil
}

// MarshalBSONValue stores the duration string.
func (d Duration) MarshalBSONValue() (byte, []byte, error) {
	t, b, err := bson.MarshalValue(d.String())
	return byte(t), b, err
}

// UnmarshalBSONValue reads the stored duration string.
func (d *Duration) UnmarshalBSONValue(t byte, b []byte) error {
	var s string
	if err := bson.UnmarshalValue(bson.Type(t), b, &s); err != nil {
		return fmt.Errorf("decode duration: %w", err)
	}
	return d.parse(s)
}

func (d *Duration) parse(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}
