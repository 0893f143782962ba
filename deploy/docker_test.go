package deploy

import (
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// No Docker engine runs where the tests run, so the Dockerfile is checked by reading it.

type dockerStage struct {
	base, name   string
	instructions []string // each with its continuation lines joined
}

func parseDockerfile(t *testing.T) []dockerStage {
	t.Helper()
	var stages []dockerStage
	var cur strings.Builder
	flush := func() {
		line := strings.TrimSpace(cur.String())
		cur.Reset()
		if line == "" {
			return
		}
		if f := strings.Fields(line); strings.EqualFold(f[0], "FROM") {
			st := dockerStage{base: f[1]}
			if len(f) == 4 && strings.EqualFold(f[2], "AS") {
				st.name = f[3]
			}
			stages = append(stages, st)
			return
		}
		if len(stages) > 0 {
			stages[len(stages)-1].instructions = append(stages[len(stages)-1].instructions, line)
		}
	}
	for _, l := range strings.Split(string(readFile(t, "Dockerfile")), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		if s, ok := strings.CutSuffix(strings.TrimRight(l, " \t"), "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(l)
		flush()
	}
	flush()
	return stages
}

func instruction(st dockerStage, name string) []string {
	var out []string
	for _, in := range st.instructions {
		if f := strings.Fields(in); strings.EqualFold(f[0], name) {
			out = append(out, strings.TrimSpace(in[len(f[0]):]))
		}
	}
	return out
}

// TestDockerfile: a multi-stage build of a static, stripped, versioned binary; the default
// (last) stage is a small non-root image exposing the HTTP and embedded NATS ports.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t)
	if len(stages) < 2 {
		t.Fatalf("want a multi-stage build, got %d stages", len(stages))
	}
	build := stages[0]
	if !strings.HasPrefix(build.base, "golang:") {
		t.Errorf("build stage is FROM %s, want golang", build.base)
	}
	runs := strings.Join(instruction(build, "RUN"), "\n")
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w -X main.version=${VERSION}"`, "./cmd/webhookd"} {
		if !strings.Contains(runs, want) {
			t.Errorf("build stage does not run %s", want)
		}
	}
	// Every package the build compiles exists, in the directory of its module (go -C dir).
	for _, cmd := range strings.Split(runs, "&&") {
		dir := "."
		if m := regexp.MustCompile(`\bgo -C (\S+)`).FindStringSubmatch(cmd); m != nil {
			dir = m[1]
		}
		for _, m := range regexp.MustCompile(`\s(\./[\w./-]+)`).FindAllStringSubmatch(cmd, -1) {
			if !fileExists(t, filepath.Join(dir, m[1])) {
				t.Errorf("the build compiles %s in %s, which does not exist", m[1], dir)
			}
		}
	}

	final := stages[len(stages)-1]
	if final.name != "webhookd" {
		t.Errorf("the last (default) stage is %q, want webhookd", final.name)
	}
	for _, st := range stages[1:] {
		if !strings.HasPrefix(st.base, "gcr.io/distroless/static") && st.base != "scratch" {
			t.Errorf("stage %s is FROM %s, want distroless static or scratch", st.name, st.base)
		}
		users := instruction(st, "USER")
		if len(users) == 0 {
			t.Errorf("stage %s has no USER", st.name)
			continue
		}
		if u := strings.Split(users[len(users)-1], ":")[0]; u == "root" || u == "0" {
			t.Errorf("stage %s runs as %s", st.name, u)
		}
	}
	if got := instruction(final, "ENTRYPOINT"); len(got) != 1 || !strings.Contains(got[0], `"/usr/local/bin/webhookd"`) {
		t.Errorf("final ENTRYPOINT %v, want webhookd", got)
	}
	exposed := strings.Fields(strings.Join(instruction(final, "EXPOSE"), " "))
	for _, p := range []string{"8080", "4222"} {
		if !slices.Contains(exposed, p) {
			t.Errorf("final stage does not EXPOSE %s (exposes %v)", p, exposed)
		}
	}
}

func fileExists(t *testing.T, rel string) bool {
	t.Helper()
	_, err := fs.Stat(osDirFS(), filepath.ToSlash(filepath.Clean(rel)))
	return err == nil
}

// dockerignorePattern turns a .dockerignore line into a regexp over slash paths: * and ? stay
// within a path element, ** crosses them, and a pattern that names a directory covers all
// beneath it.
func dockerignorePattern(p string) *regexp.Regexp {
	p = strings.TrimPrefix(filepath.ToSlash(filepath.Clean(p)), "/")
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '*' && i+1 < len(p) && p[i+1] == '*':
			b.WriteString(".*")
			i++
			if i+1 < len(p) && p[i+1] == '/' {
				b.WriteString("/?")
				i++
			}
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("(/.*)?$")
	return regexp.MustCompile(b.String())
}

// TestDockerignore: the build context keeps everything the Go build needs (every module's go.mod
// and go.sum, every non-test Go file), and leaves out the repository's history and deployment
// assets.
func TestDockerignore(t *testing.T) {
	var patterns []*regexp.Regexp
	for _, l := range strings.Split(string(readFile(t, ".dockerignore")), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "!") {
			t.Fatalf(".dockerignore exception %q: this check does not model exceptions", l)
		}
		patterns = append(patterns, dockerignorePattern(l))
	}
	ignored := func(p string) bool {
		return slices.ContainsFunc(patterns, func(re *regexp.Regexp) bool { return re.MatchString(p) })
	}
	var needed []string
	err := fs.WalkDir(osDirFS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return fs.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") ||
			d.Name() == "go.mod" || d.Name() == "go.sum") {
			needed = append(needed, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range needed {
		if ignored(p) {
			t.Errorf(".dockerignore leaves out %s, which the build needs", p)
		}
	}
	for _, p := range []string{".git", "charts/webhookd/values.yaml", "README.md", "deploy/prometheus/alerts.yml", "cmd/webhookd/main_test.go"} {
		if !ignored(p) {
			t.Errorf(".dockerignore sends %s to the build context", p)
		}
	}
}

func TestDockerignorePattern(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{".git", ".git/HEAD", true},
		{".git", "a/.git", false},
		{"**/*_test.go", "a/b/c_test.go", true},
		{"**/*_test.go", "c_test.go", true},
		{"**/*_test.go", "a/c.go", false},
		{"*.md", "README.md", true},
		{"*.md", "docs/x.md", false},
		{"docs", "docs/deploy.md", true},
		{"deploy/grafana", "deploy/grafana/dashboards/webhookd.json", true},
		{"deploy/grafana", "deploy/receiver/main.go", false},
		{"data", "metadata/x.go", false},
	}
	for _, tt := range tests {
		if got := dockerignorePattern(tt.pattern).MatchString(tt.path); got != tt.want {
			t.Errorf("pattern %q on %q = %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}
