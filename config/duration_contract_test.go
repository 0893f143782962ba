package config_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/config"
)

// CONTRACT.md section 6: durations in JSON are strings in the YAML form ("10s", "1h30m"), so a
// definition read back shows max_interval "10m" and disable_after "72h", as section 4 writes
// them, not Go's "10m0s" and "72h0m0s".
func TestContractDurationText(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{500 * time.Millisecond, "500ms"},
		{1500 * time.Millisecond, "1.5s"},
		{10 * time.Second, "10s"},
		{10 * time.Minute, "10m"},
		{90 * time.Second, "1m30s"},
		{72 * time.Hour, "72h"},
		{90 * time.Minute, "1h30m"},
		{time.Hour + 5*time.Second, "1h0m5s"},
		{time.Hour + 1500*time.Millisecond, "1h0m1.5s"},
	} {
		d := config.Duration(tc.d)
		if got := d.Text(); got != tc.want {
			t.Errorf("Duration(%v).Text() = %q, want %q", tc.d, got, tc.want)
		}
		b, err := json.Marshal(d)
		if err != nil || string(b) != `"`+tc.want+`"` {
			t.Errorf("json.Marshal(%v) = %s, %v; want %q", tc.d, b, err, tc.want)
		}
		var back config.Duration
		if err := json.Unmarshal(b, &back); err != nil || back != d {
			t.Errorf("round trip of %s = %v, %v; want %v", b, back, err, tc.d)
		}
	}
}

func TestContractDefaultsInJSON(t *testing.T) {
	b, err := json.Marshal(config.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"timeout":"10s"`, `"initial_interval":"1s"`, `"max_interval":"10m"`, `"disable_after":"72h"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("defaults %s lack %s", b, want)
		}
	}
}

// A duration of the wrong JSON type is a type error like any other field's (BAD_REQUEST in a
// control reply), naming the field; a string that is not a duration is a value error
// (INVALID_CONFIG).
func TestContractDurationWrongJSONType(t *testing.T) {
	for _, tc := range []struct{ doc, field string }{
		{`{"webhook_definitions":[{"id":"a","timeout":10}]}`, "timeout"},
		{`{"webhook_definitions":[{"id":"a","disable_after":true}]}`, "disable_after"},
		{`{"webhook_definitions":[{"id":"a","timeout":{"s":1}}]}`, "timeout"},
		{`{"webhook_definitions":[{"id":"a","retry":{"max_interval":[1]}}]}`, "max_interval"},
	} {
		_, err := config.ParseJSON([]byte(tc.doc))
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			t.Errorf("ParseJSON(%s) = %v, want a *json.UnmarshalTypeError", tc.doc, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.field) || !strings.Contains(err.Error(), "want a string") {
			t.Errorf("ParseJSON(%s) = %q, want it to name field %s and a string", tc.doc, err, tc.field)
		}
	}
	_, err := config.ParseJSON([]byte(`{"webhook_definitions":[{"id":"a","timeout":"ten"}]}`))
	var te *json.UnmarshalTypeError
	if err == nil || errors.As(err, &te) {
		t.Errorf(`ParseJSON with timeout "ten" = %v, want a value error, not a type error`, err)
	}
}
