package main

import (
	"io"
	"reflect"
	"testing"
	"time"
)

func TestParseLoads(t *testing.T) {
	got, err := parseLoads(" 1000, 50%,80% ,")
	want := []Load{{Rate: 1000}, {Percent: 50}, {Percent: 80}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("parseLoads = %v, %v; want %v", got, err, want)
	}
	if got, err := parseLoads(""); err != nil || len(got) != 0 {
		t.Errorf("parseLoads(\"\") = %v, %v; want no loads", got, err)
	}
	for _, bad := range []string{"fast", "0", "-5", "0%", "500%", "2e6"} {
		if _, err := parseLoads(bad); err == nil {
			t.Errorf("parseLoads(%q): no error", bad)
		}
	}
	if r := (Load{Percent: 50}).rate(2400); r != 1200 {
		t.Errorf("50%% of 2400 = %v", r)
	}
	if s := (Load{Percent: 80}).String() + " " + (Load{Rate: 1000}).String(); s != "80% 1000" {
		t.Errorf("String = %q", s)
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if o.Events != 20000 || o.BodyBytes != 600 || o.Concurrency != 64 || o.Output != "text" ||
		len(o.Loads) != 3 || o.SteadyDuration != 10*time.Second || o.self == "" {
		t.Errorf("defaults %+v", o)
	}
	d := o.Definitions
	if !o.Main || !o.Isolation || o.IsolationEvents != 20000 || o.HangTimeout != 2*time.Second ||
		!reflect.DeepEqual(d.Counts, []int{1000}) || d.IdleDuration != 15*time.Second || d.TrickleRate != 100 ||
		d.TrickleDuration != 10*time.Second || d.ReadyTimeout != 5*time.Minute {
		t.Errorf("defaults of the new phases %+v", o)
	}
	o, err = parseFlags([]string{"-main=false", "-isolation=false", "-definitions", "1000,5000"}, io.Discard)
	if err != nil || o.Main || o.Isolation || !reflect.DeepEqual(o.Definitions.Counts, []int{1000, 5000}) {
		t.Errorf("only the definitions phase: %+v, %v", o, err)
	}
	for _, bad := range [][]string{
		{"-events", "0"}, {"-events", "2000000"}, {"-o", "yaml"}, {"-steady", "x"},
		{"-baseline-concurrency", "0"}, {"-body-bytes", "10"}, {"extra"},
		{"-definitions", "0"}, {"-definitions", "many"}, {"-isolation-events", "5"}, {"-hang-timeout", "0s"},
		{"-idle-duration", "0s"}, {"-trickle-rate", "0"}, {"-trickle-duration", "0s"},
		{"-main=false", "-isolation=false", "-definitions", ""},
	} {
		if _, err := parseFlags(bad, io.Discard); err == nil {
			t.Errorf("parseFlags(%q): no error", bad)
		}
	}
}

func TestParseCounts(t *testing.T) {
	got, err := parseCounts(" 1000, 5000 ,")
	if err != nil || !reflect.DeepEqual(got, []int{1000, 5000}) {
		t.Errorf("parseCounts = %v, %v; want [1000 5000]", got, err)
	}
	if got, err := parseCounts(""); err != nil || len(got) != 0 {
		t.Errorf("parseCounts(\"\") = %v, %v; want none", got, err)
	}
	for _, bad := range []string{"x", "0", "-1", "10001", "1.5", "1,2,3,4,5,6,7,8,9,10,11"} {
		if _, err := parseCounts(bad); err == nil {
			t.Errorf("parseCounts(%q): no error", bad)
		}
	}
}
