package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// rootModule is the module path of the repository whose webhookd is measured.
const rootModule = "github.com/webhookd/webhookd"

// findRepo returns dir if given, else the nearest directory at or above the working directory
// whose go.mod declares rootModule (this tool's own go.mod is a nested module, so it is skipped).
func findRepo(dir string) (string, error) {
	if dir != "" {
		if !declaresModule(filepath.Join(dir, "go.mod"), rootModule) {
			return "", fmt.Errorf("-repo %s: no go.mod of module %s there", dir, rootModule)
		}
		return filepath.Abs(dir)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find the webhookd repository: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if declaresModule(filepath.Join(d, "go.mod"), rootModule) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("find the webhookd repository: no go.mod of module %s at or above %s; pass -repo", rootModule, wd)
		}
	}
}

func declaresModule(gomod, module string) bool {
	b, err := os.ReadFile(gomod)
	if err != nil {
		return false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`) == module
		}
	}
	return false
}

// buildWebhookd runs go build of ./cmd/webhookd in repo and returns the binary's path in dir.
func buildWebhookd(ctx context.Context, repo, dir string) (string, error) {
	bin := filepath.Join(dir, "webhookd")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/webhookd")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/webhookd in %s: %w\n%s", repo, err, out)
	}
	return bin, nil
}

// gitCommit names the commit of repo that was measured ("" when git cannot tell), with
// "-dirty" when the work tree has changes.
func gitCommit(ctx context.Context, repo string) string {
	out, err := exec.CommandContext(ctx, "git", "-C", repo, "describe", "--always", "--dirty").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// hasFlag reports whether the binary's --help mentions flag, so that flags of newer webhookd
// versions (--console-addr) are passed only to binaries that know them.
func hasFlag(ctx context.Context, bin, flag string) bool {
	out, _ := exec.CommandContext(ctx, bin, "--help").CombinedOutput()
	return bytes.Contains(out, []byte(flag))
}
