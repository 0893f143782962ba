package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/webhookd/webhookd/internal/natstest"
)

// natsConfig writes nats CLI contexts (name → JSON) under a new XDG_CONFIG_HOME, selects
// selected when it is not empty, and returns the directory.
func natsConfig(t *testing.T, selected string, contexts map[string]string) string {
	t.Helper()
	root := t.TempDir()
	natsConfigAt(t, root, selected, contexts)
	return root
}

// natsConfigAt writes them under root.
func natsConfigAt(t *testing.T, root, selected string, contexts map[string]string) {
	t.Helper()
	dir := filepath.Join(root, "nats", "context")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, body := range contexts {
		if err := os.WriteFile(filepath.Join(dir, name+".json"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if selected != "" {
		if err := os.WriteFile(filepath.Join(root, "nats", "context.txt"), []byte(selected+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestResolveNATS(t *testing.T) {
	t.Parallel()
	xdg := natsConfig(t, "dev", map[string]string{
		"dev":  `{"description":"local","url":"nats://dev:4222","user":"op","password":"pw","inbox_prefix":"_INBOX_op","color_scheme":"dark"}`,
		"prod": `{"url":"nats://prod:4222","creds":"~/prod.creds","ca":"file:///etc/nats/ca.pem"}`,
		"nsc":  `{"url":"nats://x:4222","nsc":"nsc://operator/account/user"}`,
		"op":   `{"url":"nats://x:4222","creds":"op://vault/item"}`,
		"bad":  `{"url":`,
	})
	empty := t.TempDir()
	home := t.TempDir()
	natsConfigAt(t, filepath.Join(home, ".config"), "h", map[string]string{"h": `{"url":"nats://h:4222"}`})
	cases := []struct {
		name   string
		flags  globals
		env    map[string]string
		url    string
		check  func(t *testing.T, tg natsTarget)
		source string // a part of the message that says where the settings came from
		err    string
	}{
		{name: "default", env: map[string]string{"XDG_CONFIG_HOME": empty},
			url: defaultNATSURL, source: "the default URL: none of --nats-url, WEBHOOKD_NATS_URL, NATS_URL or a NATS context"},
		{name: "no config directory at all", env: map[string]string{}, url: defaultNATSURL, source: "the default URL"},
		{name: "NATS_URL", env: map[string]string{"XDG_CONFIG_HOME": empty, "NATS_URL": "nats://n:1"},
			url: "nats://n:1", source: "URL from NATS_URL"},
		{name: "WEBHOOKD_NATS_URL before NATS_URL", env: map[string]string{"XDG_CONFIG_HOME": empty, "NATS_URL": "nats://n:1", "WEBHOOKD_NATS_URL": "nats://w:1"},
			url: "nats://w:1", source: "URL from WEBHOOKD_NATS_URL"},
		{name: "flag before every variable", flags: globals{NATSURL: "nats://f:1"}, env: map[string]string{"XDG_CONFIG_HOME": xdg, "NATS_URL": "nats://n:1", "WEBHOOKD_NATS_URL": "nats://w:1"},
			url: "nats://f:1", source: `URL from --nats-url; credentials, inbox prefix from NATS context "dev"`},
		{name: "selected context", env: map[string]string{"XDG_CONFIG_HOME": xdg},
			url: "nats://dev:4222", source: `URL, credentials, inbox prefix from NATS context "dev"`,
			check: func(t *testing.T, tg natsTarget) {
				if o := tg.opts; o.User != "op" || o.Password != "pw" || o.InboxPrefix != "_INBOX_op" {
					t.Errorf("options = %+v", o)
				}
			}},
		{name: "NATS_URL before the context's URL", env: map[string]string{"XDG_CONFIG_HOME": xdg, "NATS_URL": "nats://n:1"},
			url: "nats://n:1", source: `URL from NATS_URL; credentials, inbox prefix from NATS context "dev"`},
		{name: "NATS_CONTEXT before the selected one", env: map[string]string{"XDG_CONFIG_HOME": xdg, "NATS_CONTEXT": "prod", "HOME": "/home/ann"},
			url: "nats://prod:4222", source: `URL, credentials, TLS CA from NATS context "prod"`,
			check: func(t *testing.T, tg natsTarget) {
				if o := tg.opts; o.Creds != "/home/ann/prod.creds" || o.TLSCA != "/etc/nats/ca.pem" || o.User != "" {
					t.Errorf("options = %+v", o)
				}
			}},
		{name: "--nats-context before NATS_CONTEXT", flags: globals{NATSContext: "dev"}, env: map[string]string{"XDG_CONFIG_HOME": xdg, "NATS_CONTEXT": "prod"},
			url: "nats://dev:4222"},
		{name: "flags' identity wins whole", flags: globals{NATSCreds: "/etc/me.creds"}, env: map[string]string{"XDG_CONFIG_HOME": xdg},
			url: "nats://dev:4222", source: `URL, inbox prefix from NATS context "dev"`,
			check: func(t *testing.T, tg natsTarget) {
				if o := tg.opts; o.Creds != "/etc/me.creds" || o.User != "" || o.Password != "" {
					t.Errorf("options = %+v", o)
				}
			}},
		{name: "context under HOME without XDG_CONFIG_HOME", env: map[string]string{"HOME": home},
			url: "nats://h:4222", source: `URL from NATS context "h" (` + filepath.Join(home, ".config", "nats", "context", "h.json") + ")"},
		{name: "unknown context", env: map[string]string{"XDG_CONFIG_HOME": xdg, "NATS_CONTEXT": "staging"}, err: `NATS context "staging" (from NATS_CONTEXT): no such context`},
		{name: "not a name", flags: globals{NATSContext: "../dev"}, env: map[string]string{"XDG_CONFIG_HOME": xdg}, err: "not a context name"},
		{name: "unreadable context", env: map[string]string{"XDG_CONFIG_HOME": xdg, "NATS_CONTEXT": "bad"}, err: "is not a context file"},
		{name: "nsc lookup", env: map[string]string{"XDG_CONFIG_HOME": xdg, "NATS_CONTEXT": "nsc"}, err: `sets "nsc", which webhookctl does not support`},
		{name: "1Password reference", env: map[string]string{"XDG_CONFIG_HOME": xdg, "NATS_CONTEXT": "op"}, err: "not op:// references"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tg, err := resolveNATS(c.flags, func(k string) string { return c.env[k] })
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err = %v, want one with %q", err, c.err)
				}
				if exitCode(err) != exitUsage {
					t.Errorf("exit code %d, want %d", exitCode(err), exitUsage)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tg.opts.URL != c.url || !strings.Contains(tg.source, c.source) {
				t.Errorf("URL %q (%s), want %q (%s)", tg.opts.URL, tg.source, c.url, c.source)
			}
			if c.check != nil {
				c.check(t, tg)
			}
		})
	}
}

// webhookctl finds webhookd through NATS_URL or a nats CLI context, as the nats CLI would, and
// says where it looked when it cannot connect.
func TestConnectsAsTheNATSCLIWould(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.ok("rules", "list") // WEBHOOKD_NATS_URL
	if r := e.ctlEnv([]string{"NATS_URL=" + e.url}, "rules", "list"); r.code != 0 {
		t.Errorf("NATS_URL: exit %d: %s", r.code, r.stderr)
	}
	xdg := natsConfig(t, "", map[string]string{"local": `{"url":"` + e.url + `"}`})
	if r := e.ctlEnv([]string{"XDG_CONFIG_HOME=" + xdg, "NATS_CONTEXT=local"}, "rules", "list"); r.code != 0 {
		t.Errorf("NATS_CONTEXT: exit %d: %s", r.code, r.stderr)
	}

	// With a user and password from the context.
	url := natstest.URL(t, func(o *server.Options) { o.JetStream, o.Username, o.Password = false, "op", "s3cret" })
	xdg = natsConfig(t, "secured", map[string]string{
		"secured": `{"url":"` + url + `","user":"op","password":"s3cret"}`,
		"wrong":   `{"url":"` + url + `","user":"op","password":"nope"}`,
	})
	r := e.ctlEnv([]string{"XDG_CONFIG_HOME=" + xdg}, "--timeout", "5s", "rules", "list")
	if r.code != exitUnavailable || !strings.Contains(r.stderr, "no webhookd") {
		t.Errorf("selected context: exit %d, want %d (connected, no webhookd there): %s", r.code, exitUnavailable, r.stderr)
	}
	r = e.ctlEnv([]string{"XDG_CONFIG_HOME=" + xdg, "NATS_CONTEXT=wrong"}, "--timeout", "5s", "rules", "list")
	if r.code != exitUnavailable || !strings.Contains(r.stderr, `URL, credentials from NATS context "wrong"`) || strings.Contains(r.stderr, "nope") {
		t.Errorf("wrong password: exit %d: %s", r.code, r.stderr)
	}

	// Nothing set: the default, said aloud.
	// (A webhookd of the person's own may be listening there: then it answers.)
	r = e.ctlEnv([]string{"XDG_CONFIG_HOME=" + t.TempDir()}, "--timeout", "2s", "rules", "list")
	if r.code != exitUnavailable && r.code != 0 {
		t.Errorf("default: exit %d: %s", r.code, r.stderr)
	}
	if r.code != 0 && !strings.Contains(r.stderr, "the default URL") {
		t.Errorf("default: the message does not say the URL is the default: %s", r.stderr)
	}
}
