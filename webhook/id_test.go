package webhook_test

import (
	"regexp"
	"testing"

	"github.com/webhookd/webhookd/webhook"
)

func TestNewWebhookID(t *testing.T) {
	a := webhook.NewWebhookID("evt-1", "rule-1", "def-1")
	if !regexp.MustCompile(`^msg_[a-z2-7]{32}$`).MatchString(a) {
		t.Fatalf("id %q has the wrong form", a)
	}
	if b := webhook.NewWebhookID("evt-1", "rule-1", "def-1"); a != b {
		t.Fatalf("not deterministic: %q, %q", a, b)
	}
	// Pinned: a change here breaks receivers' deduplication across an upgrade.
	if want := "msg_b42g6ykju3by36azkksftl2p2qzklfvz"; a != want {
		t.Fatalf("id = %s, want %s", a, want)
	}
	distinct := map[string][3]string{}
	for _, ids := range [][3]string{
		{"evt-1", "rule-1", "def-1"},
		{"evt-1", "rule-1", "def-2"},
		{"evt-1", "rule-2", "def-1"},
		{"evt-2", "rule-1", "def-1"},
		{"a.b", "c", "d"},
		{"a", "b.c", "d"},
		{"a", "b", "c.d"},
		{"ab", "", "c"},
		{"a", "b", "c"},
		{"", "", ""},
		{"def-1", "rule-1", "evt-1"},
	} {
		id := webhook.NewWebhookID(ids[0], ids[1], ids[2])
		if prev, ok := distinct[id]; ok {
			t.Fatalf("%q and %q share id %s", prev, ids, id)
		}
		distinct[id] = ids
	}
}
