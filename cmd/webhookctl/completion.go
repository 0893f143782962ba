package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/alecthomas/kong"
	"github.com/posener/complete"
	"github.com/willabides/kongplete"
)

// Shell completion: the shell asks webhookctl itself for the words that may follow (kongplete
// on kong's model, through the COMP_LINE protocol of bash's complete -C), so the completions
// always match the commands and flags of the binary installed.

// completionCmd prints the script that hooks webhookctl's completion into a shell.
type completionCmd struct {
	Shell string `arg:"" enum:"bash,zsh,fish" help:"bash, zsh or fish."`
}

func (completionCmd) Help() string {
	return `Load it in the shell's start-up file:

    bash (~/.bashrc):                  source <(webhookctl completion bash)
    zsh (~/.zshrc):                    source <(webhookctl completion zsh)
    fish (~/.config/fish/config.fish): webhookctl completion fish | source`
}

func (c *completionCmd) Run(a *app) error {
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("completion: find webhookctl's own path: %w", err)
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return fmt.Errorf("completion: find webhookctl's own path: %w", err)
	}
	_, err = fmt.Fprint(a.stdout, completionScript(c.Shell, "webhookctl", bin))
	return err
}

// completionScript is the shell code that completes cmd by running bin.
func completionScript(shell, cmd, bin string) string {
	q := shellQuote(bin)
	switch shell {
	case "zsh":
		return "autoload -U +X bashcompinit && bashcompinit\ncomplete -C " + q + " " + cmd + "\n"
	case "fish":
		return `function __complete_` + cmd + `
    set -lx COMP_LINE (commandline -cp)
    test -z (commandline -ct)
    and set COMP_LINE "$COMP_LINE "
    ` + q + `
end
complete -f -c ` + cmd + ` -a "(__complete_` + cmd + `)"
`
	}
	return "complete -C " + q + " " + cmd + "\n"
}

// shellQuote quotes s for bash, zsh and fish alike.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// completeIfAsked answers a shell's completion request (COMP_LINE set) and exits through
// exit; otherwise it does nothing.
func completeIfAsked(parser *kong.Kong, getenv func(string) string, exit func(int)) {
	kongplete.Complete(parser,
		kongplete.WithPredictor("file", complete.PredictFiles("*")),
		kongplete.WithPredictor("yaml", complete.PredictOr(complete.PredictFiles("*.yaml"), complete.PredictFiles("*.yml"), complete.PredictSet("-"))),
		kongplete.WithPredictor("state", complete.PredictSet("successful", "rejected")),
		kongplete.WithPredictor("natscontext", complete.PredictFunc(func(complete.Args) []string { return natsContextNames(getenv) })),
		kongplete.WithExitFunc(exit),
	)
}

// natsContextNames lists the nats CLI contexts, for completing --nats-context.
func natsContextNames(getenv func(string) string) []string {
	root, err := natsConfigDir(getenv)
	if err != nil || root == "" {
		return nil
	}
	files, _ := filepath.Glob(filepath.Join(root, "context", "*.json"))
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	return names
}
