package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/webhookd/webhookd/broker"
)

// defaultNATSURL is a standalone webhookd's embedded server on this machine.
const defaultNATSURL = "nats://127.0.0.1:4222"

// Where the connection settings come from, as the nats CLI has them: a flag first, then
// webhookd's own variable, then the nats CLI's NATS_URL, then the NATS context (NATS_CONTEXT, or
// the one `nats context select` chose), then the default. A context also supplies the
// credentials and TLS files that no --nats-* flag or WEBHOOKD_NATS_* variable gives.
//
// The context is read here, in the format the nats CLI documents (one JSON file a context under
// $XDG_CONFIG_HOME/nats/context, else ~/.config/nats/context; the selected name in
// ../context.txt), rather than with github.com/nats-io/jsm.go/natscontext: that package imports
// jsm.go's root package and with it nats-server's, which would put the NATS server back into
// webhookctl (18.5 MB for a program that only loads a context).

// natsContext is what webhookctl reads of a nats CLI context.
type natsContext struct {
	URL         string `json:"url"`
	User        string `json:"user"`
	Password    string `json:"password"`
	Token       string `json:"token"`
	Creds       string `json:"creds"`
	NKey        string `json:"nkey"`
	Cert        string `json:"cert"`
	Key         string `json:"key"`
	CA          string `json:"ca"`
	InboxPrefix string `json:"inbox_prefix"`

	// Settings webhookctl cannot honour. A context that sets one is refused rather than used
	// without it (it would connect as someone else, or not at all, and say nothing).
	NSC              string `json:"nsc"`
	UserJWT          string `json:"user_jwt"`
	UserSeed         string `json:"user_seed"`
	SocksProxy       string `json:"socks_proxy"`
	TLSFirst         bool   `json:"tls_first"`
	JSDomain         string `json:"jetstream_domain"`
	JSAPIPrefix      string `json:"jetstream_api_prefix"`
	WinCertStoreType string `json:"windows_cert_store"`
}

// unsupported names the first setting of c that webhookctl cannot honour, or "".
func (c *natsContext) unsupported() string {
	switch {
	case c.NSC != "":
		return "nsc"
	case c.UserJWT != "":
		return "user_jwt"
	case c.UserSeed != "":
		return "user_seed"
	case c.SocksProxy != "":
		return "socks_proxy"
	case c.TLSFirst:
		return "tls_first"
	case c.JSDomain != "":
		return "jetstream_domain"
	case c.JSAPIPrefix != "":
		return "jetstream_api_prefix"
	case c.WinCertStoreType != "":
		return "windows_cert_store"
	}
	return ""
}

// natsTarget is where webhookctl connects and why there.
type natsTarget struct {
	opts   broker.Options
	source string // where the settings came from, for messages: "URL from NATS_URL", …
}

// resolveNATS works out the connection settings from the flags (with their WEBHOOKD_NATS_*
// variables already applied by kong, except the URL's) and the environment.
func resolveNATS(g globals, getenv func(string) string) (natsTarget, error) {
	t := natsTarget{opts: broker.Options{
		Creds: g.NATSCreds, NKey: g.NATSNKey, User: g.NATSUser, Password: g.NATSPassword,
		TLSCA: g.NATSTLSCA, TLSCert: g.NATSTLSCert, TLSKey: g.NATSTLSKey, Name: "webhookctl",
		InboxPrefix: g.NATSInbox,
	}}
	ctx, ctxSource, err := loadNATSContext(g.NATSContext, getenv)
	if err != nil {
		return t, usagef("%w", err)
	}
	switch {
	case g.NATSURL != "":
		t.opts.URL, t.source = g.NATSURL, "URL from --nats-url"
	case getenv("WEBHOOKD_NATS_URL") != "":
		t.opts.URL, t.source = getenv("WEBHOOKD_NATS_URL"), "URL from WEBHOOKD_NATS_URL"
	case getenv("NATS_URL") != "":
		t.opts.URL, t.source = getenv("NATS_URL"), "URL from NATS_URL"
	case ctx != nil && ctx.URL != "":
		t.opts.URL, t.source = ctx.URL, "URL from "+ctxSource
	default:
		t.opts.URL = defaultNATSURL
		t.source = "the default URL: none of --nats-url, WEBHOOKD_NATS_URL, NATS_URL or a NATS context sets one"
	}
	if ctx == nil {
		return t, nil
	}
	o := &t.opts
	var used []string
	if o.User == "" && o.Creds == "" && o.NKey == "" && ctx.User+ctx.Token+ctx.Creds+ctx.NKey != "" {
		// One identity: the context's is taken whole, or not at all.
		o.User, o.Password, o.Token = ctx.User, ctx.Password, ctx.Token
		o.Creds, o.NKey = ctx.Creds, ctx.NKey
		used = append(used, "credentials")
	}
	if o.TLSCA == "" && ctx.CA != "" {
		o.TLSCA, used = ctx.CA, append(used, "TLS CA")
	}
	if o.TLSCert == "" && o.TLSKey == "" && ctx.Cert+ctx.Key != "" {
		o.TLSCert, o.TLSKey, used = ctx.Cert, ctx.Key, append(used, "client certificate")
	}
	if o.InboxPrefix == "" && ctx.InboxPrefix != "" {
		o.InboxPrefix, used = ctx.InboxPrefix, append(used, "inbox prefix")
	}
	switch {
	case t.source == "URL from "+ctxSource:
		t.source = strings.Join(append([]string{"URL"}, used...), ", ") + " from " + ctxSource
	case len(used) > 0:
		t.source += "; " + strings.Join(used, ", ") + " from " + ctxSource
	}
	return t, nil
}

// loadNATSContext reads the context named by --nats-context or NATS_CONTEXT, else the selected
// one. It returns nil when no context is named or selected; a context that is named but cannot
// be read is an error, never a silent fallback.
func loadNATSContext(name string, getenv func(string) string) (*natsContext, string, error) {
	root := natsConfigDir(getenv)
	how := "--nats-context"
	if name == "" {
		name, how = getenv("NATS_CONTEXT"), "NATS_CONTEXT"
	}
	if name == "" {
		if root == "" {
			return nil, "", nil
		}
		sel := filepath.Join(root, "context.txt")
		b, err := os.ReadFile(sel)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", nil
		}
		if err != nil {
			return nil, "", fmt.Errorf("read the selected NATS context %s: %w", sel, err)
		}
		if name = strings.TrimSpace(string(b)); name == "" {
			return nil, "", nil
		}
		how = sel
	}
	if strings.Contains(name, "..") || strings.ContainsAny(name, `/\`) {
		return nil, "", fmt.Errorf("NATS context %q (from %s): not a context name", name, how)
	}
	if root == "" {
		return nil, "", fmt.Errorf("NATS context %q (from %s): no XDG_CONFIG_HOME or HOME to find it in", name, how)
	}
	path := filepath.Join(root, "context", name+".json")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("NATS context %q (from %s): no such context (%s does not exist)", name, how, path)
	}
	if err != nil {
		return nil, "", fmt.Errorf("NATS context %q: %w", name, err)
	}
	var c natsContext
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, "", fmt.Errorf("NATS context %q: %s is not a context file: %w", name, path, err)
	}
	if f := c.unsupported(); f != "" {
		return nil, "", fmt.Errorf("NATS context %q (%s) sets %q, which webhookctl does not support: use a context without it, or the --nats-* flags", name, path, f)
	}
	for _, p := range []*string{&c.Creds, &c.NKey, &c.Cert, &c.Key, &c.CA} {
		if *p, err = contextPath(*p, getenv); err != nil {
			return nil, "", fmt.Errorf("NATS context %q (%s): %w", name, path, err)
		}
	}
	return &c, fmt.Sprintf("NATS context %q (%s)", name, path), nil
}

// natsConfigDir is the nats CLI's configuration directory: $XDG_CONFIG_HOME/nats, else
// $HOME/.config/nats; "" when neither is set.
func natsConfigDir(getenv func(string) string) string {
	if x := getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "nats")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".config", "nats")
	}
	return ""
}

// contextPath expands a file setting of a context as the nats CLI does: environment variables,
// a leading ~, and a file:// prefix. Other schemes (nsc://, op://) name secrets webhookctl
// cannot look up.
func contextPath(p string, getenv func(string) string) (string, error) {
	if p == "" {
		return "", nil
	}
	p = os.Expand(p, getenv)
	if rest, ok := strings.CutPrefix(p, "file://"); ok {
		p = rest
	} else if i := strings.Index(p, "://"); i > 0 && !strings.ContainsAny(p[:i], `/\`) {
		return "", fmt.Errorf("%q: webhookctl reads files only, not %s:// references", p, p[:i])
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		p = filepath.Join(getenv("HOME"), p[1:])
	}
	return p, nil
}
