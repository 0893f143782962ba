package webhook_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/webhook"
)

const contractKey = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // the example of CONTRACT.md section 4

func TestDecodeSecret(t *testing.T) {
	b64 := func(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }
	tests := []struct {
		name    string
		key     string
		wantLen int
		wantErr string // part of the message; "" = no error
	}{
		{"contract example", contractKey, 24, ""},
		{"24 bytes", "whsec_" + b64(24), 24, ""},
		{"64 bytes", "whsec_" + b64(64), 64, ""},
		{"32 bytes padded", "whsec_" + b64(32), 32, ""},
		{"23 bytes", "whsec_" + b64(23), 0, "decodes to 23 bytes"},
		{"65 bytes", "whsec_" + b64(65), 0, "decodes to 65 bytes"},
		{"no prefix", b64(32), 0, "must start with"},
		{"upper-case prefix", "WHSEC_" + b64(32), 0, "must start with"},
		{"empty", "", 0, "must start with"},
		{"prefix only", "whsec_", 0, "decodes to 0 bytes"},
		{"padding missing", "whsec_" + strings.TrimRight(b64(32), "="), 0, "not standard padded base64"},
		{"url alphabet", "whsec_" + strings.Repeat("-_", 22) + "AAAA", 0, "not standard padded base64"},
		{"white space", "whsec_ " + b64(32), 0, "not standard padded base64"},
		{"trailing newline", "whsec_" + b64(32) + "\n", 0, "line break"},
		{"inner CR", "whsec_" + b64(30)[:20] + "\r" + b64(30)[20:], 0, "line break"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := webhook.DecodeSecret(tt.key)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("DecodeSecret: %v", err)
				}
				if len(got) != tt.wantLen {
					t.Fatalf("len = %d, want %d", len(got), tt.wantLen)
				}
				return
			}
			if !errors.Is(err, webhook.ErrInvalidSecret) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want ErrInvalidSecret containing %q", err, tt.wantErr)
			}
			if rest := strings.TrimPrefix(tt.key, "whsec_"); len(rest) > 4 && strings.Contains(err.Error(), rest) {
				t.Fatalf("error %q contains the key", err)
			}
		})
	}
}

func TestGenerateSecret(t *testing.T) {
	a, err := webhook.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, err := webhook.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatal("two generated keys are equal")
	}
	key, err := webhook.DecodeSecret(a)
	if err != nil {
		t.Fatalf("generated key does not decode: %v", err)
	}
	if len(key) != 32 {
		t.Fatalf("generated key has %d bytes, want 32", len(key))
	}
}

func FuzzDecodeSecret(f *testing.F) {
	f.Add(contractKey)
	f.Add("whsec_")
	f.Add("whsec_====")
	f.Fuzz(func(t *testing.T, key string) {
		b, err := webhook.DecodeSecret(key)
		if err != nil {
			if !errors.Is(err, webhook.ErrInvalidSecret) {
				t.Fatalf("error %v does not wrap ErrInvalidSecret", err)
			}
			if rest := strings.TrimPrefix(key, "whsec_"); len(rest) >= 8 && strings.Contains(err.Error(), rest) {
				t.Fatalf("error %q contains the key", err)
			}
			return
		}
		if len(b) < webhook.MinSecretBytes || len(b) > webhook.MaxSecretBytes {
			t.Fatalf("accepted %d bytes", len(b))
		}
		// Strict: exactly one spelling per key.
		if again := "whsec_" + base64.StdEncoding.EncodeToString(b); again != key {
			t.Fatalf("accepted %q, canonical form %q", key, again)
		}
	})
}
