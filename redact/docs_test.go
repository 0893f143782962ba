package redact_test

import (
	"os"
	"strings"
	"testing"

	"github.com/webhookd/webhookd/redact"
)

// TestDocsListTheNames: docs/webhooks.md, where the masking is described (the names
// CONTRACT.md section 5 refers to), lists every word that makes a name a credential's.
func TestDocsListTheNames(t *testing.T) {
	b, err := os.ReadFile("../docs/webhooks.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, "### Masking")
	if i < 0 {
		t.Fatal("docs/webhooks.md has no Masking section")
	}
	section := doc[i:]
	for _, w := range append(redact.CredentialWords(), "Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie",
		"webhook-id", "webhook-timestamp", "webhook-signature", "pass", "pwd", "sig") {
		if !strings.Contains(section, "`"+w+"`") {
			t.Errorf("docs/webhooks.md's Masking section does not list `%s`", w)
		}
	}
}
