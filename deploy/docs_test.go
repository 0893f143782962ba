package deploy

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// readmeMaxLines keeps README.md a front page; the references live in docs/.
const readmeMaxLines = 400

// TestDocsLinksResolve: every relative link in the repository's Markdown files names a file of
// the repository and, with a #fragment, a heading of that file; nothing links outside the
// repository (a clone has only what is in it). Links to web sites are not checked.
func TestDocsLinksResolve(t *testing.T) {
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	pages := markdownFiles(t, root)
	if len(pages) < 2 {
		t.Fatalf("found %d Markdown files under %s; want README.md and docs/", len(pages), root)
	}
	anchors := map[string]map[string]bool{}
	anchorsOf := func(path string) map[string]bool {
		if a, ok := anchors[path]; ok {
			return a
		}
		a := headingAnchors(t, path)
		anchors[path] = a
		return a
	}
	links := 0
	for _, page := range pages {
		rel, _ := filepath.Rel(root, page)
		for _, l := range markdownLinks(t, page) {
			target, frag, _ := strings.Cut(l.target, "#")
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			links++
			dest := page
			if target != "" {
				dest = filepath.Join(filepath.Dir(page), filepath.FromSlash(target))
			}
			if r, err := filepath.Rel(root, dest); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
				t.Errorf("%s:%d: link %q leaves the repository", rel, l.line, l.target)
				continue
			}
			info, err := os.Stat(dest)
			if err != nil {
				t.Errorf("%s:%d: link %q: no such file", rel, l.line, l.target)
				continue
			}
			if frag == "" {
				continue
			}
			if info.IsDir() || !strings.HasSuffix(dest, ".md") {
				t.Errorf("%s:%d: link %q: a #fragment needs a Markdown file", rel, l.line, l.target)
				continue
			}
			if !anchorsOf(dest)[frag] {
				t.Errorf("%s:%d: link %q: no heading with anchor #%s", rel, l.line, l.target, frag)
			}
		}
	}
	t.Logf("%d relative links in %d Markdown files", links, len(pages))
}

// TestReadmeIsAFrontPage: README.md stays short enough to read in minutes.
func TestReadmeIsAFrontPage(t *testing.T) {
	n := bytes.Count(readFile(t, "README.md"), []byte("\n"))
	if n > readmeMaxLines {
		t.Errorf("README.md has %d lines, at most %d: move references to docs/", n, readmeMaxLines)
	}
}

func markdownFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "data" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".md") {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type mdLink struct {
	line   int
	target string
}

var (
	// [text](target) and ![alt](target), the target up to white space or ")".
	inlineLink = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	codeSpan   = regexp.MustCompile("`[^`]*`")
	fence      = regexp.MustCompile("^\\s*(```|~~~)")
)

// markdownLinks returns the inline links of a page outside code blocks and code spans.
func markdownLinks(t *testing.T, path string) []mdLink {
	t.Helper()
	var out []mdLink
	forLines(t, path, func(n int, line string, inCode bool) {
		if inCode {
			return
		}
		line = codeSpan.ReplaceAllString(line, "")
		for _, m := range inlineLink.FindAllStringSubmatch(line, -1) {
			out = append(out, mdLink{line: n, target: m[1]})
		}
	})
	return out
}

// headingAnchors returns the anchors GitHub gives a page's headings: lower case, punctuation
// dropped, spaces turned into hyphens, a repeated anchor suffixed -1, -2, ...
func headingAnchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	seen := map[string]int{}
	forLines(t, path, func(_ int, line string, inCode bool) {
		if inCode || !strings.HasPrefix(line, "#") {
			return
		}
		text := strings.TrimLeft(line, "#")
		if len(line)-len(text) > 6 || !strings.HasPrefix(text, " ") {
			return
		}
		a := slug(text)
		if n := seen[a]; n > 0 {
			out[a+"-"+strconv.Itoa(n)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	})
	return out
}

func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case unicode.IsLetter(r), unicode.IsNumber(r), r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

// forLines calls f for each line of a file, saying whether it is inside a fenced code block.
func forLines(t *testing.T, path string, f func(n int, line string, inCode bool)) {
	t.Helper()
	file, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	s := bufio.NewScanner(file)
	s.Buffer(make([]byte, 0, 64<<10), 1<<20)
	inCode := false
	for n := 1; s.Scan(); n++ {
		line := s.Text()
		if fence.MatchString(line) {
			inCode = !inCode
			f(n, line, true)
			continue
		}
		f(n, line, inCode)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
}
