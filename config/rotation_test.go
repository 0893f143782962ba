package config

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const otherKey = "whsec_T3RoZXIga2V5IGZvciByb3RhdGlvbiB0ZXN0cw=="

func TestRotateSecret(t *testing.T) {
	t0 := time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	def := func(key string, grace time.Duration) Definition {
		d := validDefinition("erp-sync")
		d.SecretKey, d.SecretRotationGrace = key, Duration(grace)
		return d
	}
	rotated := func(key, prev string, at time.Time) *Definition {
		d := def(key, day)
		d.PreviousSecretKey, d.SecretRotatedAt = prev, &at
		return &d
	}
	tests := []struct {
		name       string
		applied    Definition
		stored     *Definition
		at         time.Time
		wantPrev   string
		wantAt     time.Time
		wantSignAt map[time.Duration]string // offset from at -> previous key signing then
	}{
		{name: "new definition", applied: def(otherKey, day), at: t0},
		{name: "same key, no rotation", applied: def(testKey, day), stored: ptr(def(testKey, day)), at: t0},
		{
			name: "changed key", applied: def(otherKey, day), stored: ptr(def(testKey, day)), at: t0,
			wantPrev: testKey, wantAt: t0,
			wantSignAt: map[time.Duration]string{0: testKey, day - time.Second: testKey, day: "", 2 * day: ""},
		},
		{name: "changed key, no grace", applied: def(otherKey, 0), stored: ptr(def(testKey, day)), at: t0},
		{
			name: "same key again within the grace keeps the rotation", applied: def(otherKey, day),
			stored: rotated(otherKey, testKey, t0.Add(-time.Hour)), at: t0,
			wantPrev: testKey, wantAt: t0.Add(-time.Hour),
			wantSignAt: map[time.Duration]string{0: testKey, 23*time.Hour - 1: testKey, 23 * time.Hour: ""},
		},
		{name: "same key after the grace drops it", applied: def(otherKey, day), stored: rotated(otherKey, testKey, t0.Add(-day)), at: t0},
		{name: "a shorter grace applied later ends it", applied: def(otherKey, time.Hour), stored: rotated(otherKey, testKey, t0.Add(-2*time.Hour)), at: t0},
		{name: "grace 0 applied later ends it at once", applied: def(otherKey, 0), stored: rotated(otherKey, testKey, t0.Add(-time.Minute)), at: t0},
		{
			name: "a second change within the grace: the last key replaced is the previous one", applied: def(testKey, day),
			stored: rotated(otherKey, "whsec_"+strings.Repeat("QUFB", 8), t0.Add(-time.Hour)), at: t0,
			wantPrev: otherKey, wantAt: t0,
			wantSignAt: map[time.Duration]string{0: otherKey},
		},
		{
			name: "what a JSON apply carries is replaced", at: t0,
			applied: func() Definition {
				d := def(testKey, day)
				d.PreviousSecretKey, d.SecretRotatedAt = otherKey, &t0
				return d
			}(),
			stored: ptr(def(testKey, day)),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.applied
			d.RotateSecret(tc.stored, tc.at)
			if d.PreviousSecretKey != tc.wantPrev {
				t.Fatalf("PreviousSecretKey = %q, want %q", d.PreviousSecretKey, tc.wantPrev)
			}
			if tc.wantPrev == "" {
				if d.SecretRotatedAt != nil {
					t.Errorf("SecretRotatedAt = %v, want nil", d.SecretRotatedAt)
				}
				if got := d.PreviousSecretAt(tc.at); got != "" {
					t.Errorf("PreviousSecretAt = %q, want none", got)
				}
				return
			}
			if d.SecretRotatedAt == nil || !d.SecretRotatedAt.Equal(tc.wantAt) {
				t.Errorf("SecretRotatedAt = %v, want %v", d.SecretRotatedAt, tc.wantAt)
			}
			for off, want := range tc.wantSignAt {
				if got := d.PreviousSecretAt(tc.at.Add(off)); got != want {
					t.Errorf("PreviousSecretAt(at%+v) = %q, want %q", off, got, want)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestRotationMasked: replies show the previous key masked and when it stops signing; YAML has
// no key for it, so a document cannot set it.
func TestRotationMasked(t *testing.T) {
	at := time.Date(2025, 3, 14, 10, 0, 0, 0, time.UTC)
	d := validDefinition("erp-sync")
	d.SecretKey, d.SecretRotationGrace = otherKey, Duration(24*time.Hour)
	d.PreviousSecretKey, d.SecretRotatedAt = testKey, &at
	m := d.MaskSecrets()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"previous_secret_key":"whsec_…LaSw"`, `"previous_secret_until":"2025-03-15T10:00:00Z"`, `"secret_rotation_grace":"24h"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("masked JSON %s lacks %s", b, want)
		}
	}
	if strings.Contains(string(b), testKey[6:]) || strings.Contains(string(b), otherKey[6:]) {
		t.Errorf("masked JSON %s holds a key", b)
	}
	*m.SecretRotatedAt = time.Time{}
	if !d.SecretRotatedAt.Equal(at) {
		t.Error("MaskSecrets shares SecretRotatedAt with the original")
	}
	if m := validDefinition("x").MaskSecrets(); m.PreviousSecretKey != "" || m.PreviousSecretUntil != nil {
		t.Errorf("no rotation, yet masked %q until %v", m.PreviousSecretKey, m.PreviousSecretUntil)
	}

	_, err = ParseYAML([]byte("webhook_definitions:\n  - id: a\n    previous_secret_key: " + testKey + "\n"))
	if err == nil || !strings.Contains(err.Error(), `unknown field "previous_secret_key"`) {
		t.Errorf("YAML with previous_secret_key: %v", err)
	}
}
