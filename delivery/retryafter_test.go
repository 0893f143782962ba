package delivery_test

import (
	"testing"
	"time"

	"github.com/webhookd/webhookd/delivery"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"7", 7 * time.Second, true},
		{"0", 0, true},
		{" 120 ", 2 * time.Minute, true},
		{"007", 7 * time.Second, true},
		{"99999999999999999999999", 9223372036 * time.Second, true},
		{"Wed, 01 May 2024 10:00:30 GMT", 30 * time.Second, true}, // IMF-fixdate
		{"Wednesday, 01-May-24 10:01:00 GMT", time.Minute, true},  // RFC 850
		{"Wed May  1 10:00:05 2024", 5 * time.Second, true},       // asctime
		{"Wed, 01 May 2024 09:00:00 GMT", 0, true},                // past
		{"", 0, false},
		{"   ", 0, false},
		{"-1", 0, false},
		{"+5", 0, false},
		{"1.5", 0, false},
		{"5s", 0, false},
		{"soon", 0, false},
		{"2024-05-01T10:00:30Z", 0, false},
	}
	for _, tt := range tests {
		got, ok := delivery.ParseRetryAfter(tt.v, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.v, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"7", "Wed, 01 May 2024 10:00:30 GMT", "", "-1", "18446744073709551616", "Mon Jan  2 15:04:05 2006"} {
		f.Add(s)
	}
	now := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := delivery.ParseRetryAfter(v, now)
		if d < 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v < 0", v, d)
		}
		if !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v but not ok", v, d)
		}
	})
}
