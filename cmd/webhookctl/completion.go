package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/webhookd/webhookd/storage"
)

// Shell completion: the shell asks webhookctl itself for the words that may follow, read off
// kong's model through the COMP_LINE protocol of bash's complete -C, so the completions always
// match the commands and flags of the binary installed. (Written here rather than with
// github.com/willabides/kongplete: its five modules would reach the module graph of every
// service that imports webhookd's publisher.)

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

// completeIfAsked answers a shell's completion request and exits through exit; without one
// (COMP_LINE unset) it does nothing. The protocol is bash's complete -C, which zsh (bashcompinit)
// and the fish script above speak too: COMP_LINE is the command line, COMP_POINT the cursor's
// byte offset in it, and the candidates for the word under the cursor go to stdout, one a line.
func completeIfAsked(parser *kong.Kong, getenv func(string) string, exit func(int)) {
	line := getenv("COMP_LINE")
	if line == "" {
		return
	}
	if p, err := strconv.Atoi(getenv("COMP_POINT")); err == nil && p >= 0 && p < len(line) {
		line = line[:p]
	}
	for _, c := range completions(parser.Model.Node, line, getenv) {
		fmt.Fprintln(parser.Stdout, c)
	}
	exit(0)
}

// completions are the words that may stand where line ends: sub-commands, flags, or the values
// of a flag or an argument (an enum, or what its predictor tag names: file, yaml, state,
// natscontext), those that begin with what is typed already.
func completions(root *kong.Node, line string, getenv func(string) string) []string {
	words := strings.Fields(line)
	partial := ""
	if len(words) > 0 && !strings.HasSuffix(line, " ") {
		partial, words = words[len(words)-1], words[:len(words)-1]
	}
	if len(words) > 0 {
		words = words[1:] // the command's own name
	}
	node, args := root, 0
	var pending *kong.Value // a flag whose value is the next word
	for _, w := range words {
		switch {
		case pending != nil:
			pending = nil
		case strings.HasPrefix(w, "-"):
			if f := findFlag(node, w); f != nil && !f.IsBool() && !f.IsCounter() && !strings.Contains(w, "=") {
				pending = f.Value
			}
		default:
			if c := findChild(node, w); c != nil {
				node, args = c, 0
			} else {
				args++
			}
		}
	}
	var out []string
	add := func(s ...string) {
		for _, c := range s {
			if strings.HasPrefix(c, partial) {
				out = append(out, c)
			}
		}
	}
	switch {
	case pending != nil:
		add(values(pending, partial, getenv)...)
	case strings.HasPrefix(partial, "-"):
		for n := node; n != nil; n = n.Parent {
			for _, f := range n.Flags {
				if !f.Hidden {
					add("--" + f.Name)
				}
			}
		}
	case len(node.Children) > 0:
		for _, c := range node.Children {
			if !c.Hidden {
				add(c.Name)
			}
		}
	case args < len(node.Positional):
		add(values(node.Positional[args], partial, getenv)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// findFlag is the flag that word ("--name", "--name=value", "-x") names, on node or above it.
func findFlag(node *kong.Node, word string) *kong.Flag {
	name, _, _ := strings.Cut(strings.TrimLeft(word, "-"), "=")
	short := !strings.HasPrefix(word, "--")
	for n := node; n != nil; n = n.Parent {
		for _, f := range n.Flags {
			if (!short && (f.Name == name || slices.Contains(f.Aliases, name))) || (short && len(name) == 1 && f.Short == rune(name[0])) {
				return f
			}
		}
	}
	return nil
}

// findChild is the sub-command of node that word names.
func findChild(node *kong.Node, word string) *kong.Node {
	for _, c := range node.Children {
		if c.Name == word || slices.Contains(c.Aliases, word) {
			return c
		}
	}
	return nil
}

// values are the candidates for the value of v.
func values(v *kong.Value, partial string, getenv func(string) string) []string {
	if v.Enum != "" {
		return slices.Collect(maps.Keys(v.EnumMap()))
	}
	if v.Tag == nil {
		return nil
	}
	switch v.Tag.Get("predictor") {
	case "file":
		return files(partial, nil)
	case "yaml":
		return append(files(partial, []string{".yaml", ".yml"}), "-")
	case "state":
		return []string{storage.StateSuccessful, storage.StateRejected}
	case "natscontext":
		return natsContextNames(getenv)
	}
	return nil
}

// files are the paths that begin with partial: directories (with a trailing /) and files,
// those with one of exts when exts is not empty.
func files(partial string, exts []string) []string {
	matches, _ := filepath.Glob(globEscape(partial) + "*")
	var out []string
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.IsDir() {
			out = append(out, m+string(filepath.Separator))
		} else if len(exts) == 0 || slices.Contains(exts, filepath.Ext(m)) {
			out = append(out, m)
		}
	}
	return out
}

// globEscape quotes the pattern characters of a path for filepath.Glob.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// natsContextNames lists the nats CLI contexts, for completing --nats-context.
func natsContextNames(getenv func(string) string) []string {
	root := natsConfigDir(getenv)
	if root == "" {
		return nil
	}
	files, _ := filepath.Glob(filepath.Join(root, "context", "*.json"))
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	return names
}
