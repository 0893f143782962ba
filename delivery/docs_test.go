package delivery

import (
	"os"
	"strings"
	"testing"
)

// TestDocsListTheGuard: docs/webhooks.md lists every blocked range and every metadata address
// the guard knows.
func TestDocsListTheGuard(t *testing.T) {
	b, err := os.ReadFile("../docs/webhooks.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, p := range blockedPrefixes {
		if !strings.Contains(doc, "`"+p.prefix.String()+"`") {
			t.Errorf("docs/webhooks.md does not list the blocked range %s", p.prefix)
		}
	}
	for a := range metadataAddrs {
		if !strings.Contains(doc, "`"+a.String()+"`") {
			t.Errorf("docs/webhooks.md does not list the metadata address %s", a)
		}
	}
}
