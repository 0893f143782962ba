package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// completeLine runs webhookctl in dir as the shell does when it completes line.
func completeLine(t *testing.T, dir, line string, env ...string) []string {
	t.Helper()
	cmd := exec.Command(binary)
	cmd.Dir = dir
	cmd.Env = append(cmd.Environ(), append(env, "COMP_LINE="+line)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("complete %q: %v", line, err)
	}
	return strings.Fields(string(out))
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	xdg := natsConfig(t, "", map[string]string{"dev": `{}`, "prod": `{}`})
	dir := t.TempDir()
	for _, f := range []string{"hooks.yaml", "notes.txt", "conf/x.yml"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		line string
		want []string
	}{
		{"webhookctl req", []string{"requests"}},
		{"webhookctl requests re", []string{"resend"}},
		{"webhookctl requests list --state ", []string{"rejected", "successful"}},
		{"webhookctl -o ", []string{"json", "table"}},
		{"webhookctl --nats-context ", []string{"dev", "prod"}},
		{"webhookctl completion ", []string{"bash", "fish", "zsh"}},
		{"webhookctl --nats-c", []string{"--nats-context", "--nats-creds"}},
		{"webhookctl defs ", []string{"delete", "get", "list"}},
		{"webhookctl -o json requests list --sta", []string{"--state"}},
		{"webhookctl apply -f ", []string{"-", "conf/", "hooks.yaml"}},
		{"webhookctl apply -f conf/", []string{"conf/x.yml"}},
		{"webhookctl --nats-creds no", []string{"notes.txt"}},
	} {
		got := completeLine(t, dir, c.line, "XDG_CONFIG_HOME="+xdg)
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("complete %q = %v, want %v", c.line, got, c.want)
		}
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		out, err := exec.Command(binary, "completion", shell).Output()
		if err != nil || !strings.Contains(string(out), binary) || !strings.Contains(string(out), "webhookctl") {
			t.Errorf("completion %s: %v\n%s", shell, err, out)
		}
	}
	if err := exec.Command(binary, "completion", "powershell").Run(); exitOf(err) != exitUsage {
		t.Errorf("completion powershell: exit %d, want %d", exitOf(err), exitUsage)
	}
}

func TestShellQuote(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/usr/local/bin/webhookctl": "/usr/local/bin/webhookctl",
		"/home/ann/my tools/wc":     "'/home/ann/my tools/wc'",
		"/tmp/it's":                 `'/tmp/it'\''s'`,
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
