package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/storage"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// assetHashes are the first hex digits of each static file's SHA-256, put in its URL so that a
// new build's assets are fetched anew while the browser may keep them for long.
var assetHashes = func() map[string]string {
	out := map[string]string{}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		out[e.Name()] = hex.EncodeToString(sum[:6])
	}
	return out
}()

func assetURL(name string) string { return "/static/" + name + "?v=" + assetHashes[name] }

func (c *Console) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	if v := r.URL.Query().Get("v"); v != "" && v == assetHashes[name] {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	ctype := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}[path.Ext(name)]
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ctype)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}

var funcs = template.FuncMap{
	"asset": assetURL,
	"time":  fmtTime,
	"body":  prettyBody,
	"sorted": func(m map[string]string) []string {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return keys
	},
	"join": strings.Join,
	"plural": func(n int64, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	},
	"int64":      func(n int) int64 { return int64(n) },
	"stateClass": stateClass,
	"dict": func(kv ...any) map[string]any {
		m := make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	},
}

// fmtTime shows a time in UTC to the second, the way every page shows times.
func fmtTime(t any) string {
	var tt time.Time
	switch v := t.(type) {
	case time.Time:
		tt = v
	case *time.Time:
		if v == nil {
			return ""
		}
		tt = *v
	default:
		return fmt.Sprint(t)
	}
	if tt.IsZero() {
		return ""
	}
	return tt.UTC().Format("2006-01-02 15:04:05") + " UTC"
}

// prettyBody is a body as the page shows it: indented when it is JSON, else as it is. The
// template escapes it; nothing in it is ever markup.
func prettyBody(s string) string {
	b := []byte(s)
	if !json.Valid(b) {
		return s
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return s
	}
	return out.String()
}

// pageTemplates are the pages, each parsed with the layout.
var pageTemplates = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	entries, err := fs.ReadDir(templateFS, "templates")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".html")
		if name == "layout" {
			continue
		}
		out[name] = template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+e.Name()))
	}
	return out
}()

// page is what the layout needs of every page.
type page struct {
	Title   string
	Name    string // the template, also the body's class
	Nav     string // the navigation entry in force
	User    string
	Flashes []flash
	Version string
	Data    any
}

var navOf = map[string]string{
	"summary": "requests", "request": "requests", "confirm": "requests", "job": "requests",
	"definitions": "definitions", "rules": "rules", "invalid-events": "invalid-events",
}

// render renders a page with the layout; ss is nil on pages shown signed out.
func (c *Console) render(w http.ResponseWriter, r *http.Request, ss *session, status int, name, title string, data any) {
	t := pageTemplates[name]
	if t == nil {
		panic("console: no template " + name)
	}
	p := page{Title: title, Name: name, Nav: navOf[name], Version: c.o.Version, Data: data}
	if ss != nil {
		p.User = ss.user
		p.Flashes = c.sessions.takeFlashes(ss)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		c.o.Log.Error("console: render page", "page", name, "error", err)
		http.Error(w, "The page could not be shown; webhookd's log says why.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorView is a page that only says what went wrong.
type errorView struct {
	Heading string
	Message string
	Code    controlapi.Code
}

func (c *Console) renderError(w http.ResponseWriter, r *http.Request, ss *session, status int, heading, message string, code controlapi.Code) {
	c.render(w, r, ss, status, "error", heading, errorView{Heading: heading, Message: message, Code: code})
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request, ss *session, message string) {
	c.renderError(w, r, ss, http.StatusNotFound, "Not found", message, controlapi.CodeNotFound)
}

// commandError is what a failed command shows: the control plane's code and message, or a
// description of a failure to reach it.
func commandError(err error) *controlapi.Error {
	var ce *controlapi.Error
	if errors.As(err, &ce) {
		return ce
	}
	return &controlapi.Error{Code: controlapi.CodeInternal, Message: err.Error()}
}

// statusOf is the HTTP status of a page that shows a command's error.
func statusOf(e *controlapi.Error) int {
	switch e.Code {
	case controlapi.CodeNotFound:
		return http.StatusNotFound
	case controlapi.CodeBadRequest, controlapi.CodeFilterRequired, controlapi.CodeUserRequired, controlapi.CodeInvalidConfig:
		return http.StatusBadRequest
	case controlapi.CodeUnavailable:
		return http.StatusServiceUnavailable
	case controlapi.CodeDefinitionInUse:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// stateClass is the class (the colour) of a request's life cycle state; the page shows the word too.
func stateClass(state string) string {
	switch state {
	case storage.StateSuccessful:
		return "ok"
	case storage.StateRejected:
		return "bad"
	}
	return "other"
}
