package console

import (
	"net/http"
	"net/url"
	"strings"
)

// ContentSecurityPolicy is sent with every response: scripts, styles and images only from
// webhookd itself, no inline script, no plugin, no framing, forms only to the console.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func (c *Console) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /static/{file}", c.static)
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, assetURL("favicon.svg"), http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /sign-in", c.signInPage)
	mux.HandleFunc("POST /sign-in", c.signIn)
	mux.HandleFunc("POST /sign-out", c.signOut)

	auth := func(pattern string, h func(http.ResponseWriter, *http.Request, *session)) {
		mux.Handle(pattern, c.requireSession(h))
	}
	auth("GET /{$}", c.summary)
	auth("GET /confirm", c.confirmBulk)
	auth("POST /requests/delete", c.bulkDelete)
	auth("POST /requests/resend", c.bulkResend)
	auth("GET /requests/{number}", c.request)
	auth("GET /requests/{number}/delete", c.confirmDelete)
	auth("POST /requests/{number}/delete", c.deleteOne)
	auth("POST /requests/{number}/resend", c.resendOne)
	auth("GET /jobs/{id}", c.jobPage)
	auth("GET /jobs/{id}/progress", c.jobProgress)
	auth("GET /definitions", c.definitions)
	auth("POST /definitions/{id}/reactivate", c.reactivate)
	auth("GET /rules", c.rules)
	auth("GET /invalid-events", c.invalidEvents)
	auth("/", func(w http.ResponseWriter, r *http.Request, s *session) {
		c.notFound(w, r, s, "There is no page at "+r.URL.Path+".")
	})

	// Cross-site requests that change something are refused: the browser says where a request
	// comes from (Sec-Fetch-Site, Origin), and only the console's own pages may post to it.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.o.Log.Warn("console: cross-origin request refused", "method", r.Method, "path", r.URL.Path,
			"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		c.renderError(w, r, nil, http.StatusForbidden, "Refused",
			"This form was sent from another site. Nothing was changed: use the console's own pages.", "CROSS_ORIGIN")
	}))
	return securityHeaders(cop.Handler(mux))
}

// securityHeaders sets the headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// requireSession runs h with the request's session, or sends the browser to sign in (and back
// here afterwards, for a GET).
func (c *Console) requireSession(h func(http.ResponseWriter, *http.Request, *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ss := c.sessionOf(r)
		if ss == nil {
			target := "/sign-in"
			if r.Method == http.MethodGet && r.URL.RequestURI() != "/" {
				target += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			if r.Method != http.MethodGet {
				// A form posted after the session ended: nothing is done.
				http.SetCookie(w, sessionCookie(r, "", 0))
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		h(w, r, ss)
	})
}

// sessionOf returns the request's session, if it is signed in by a user who still exists.
func (c *Console) sessionOf(r *http.Request) *session {
	ck, err := r.Cookie(CookieName)
	if err != nil {
		return nil
	}
	ss := c.sessions.get(ck.Value)
	if ss == nil {
		return nil
	}
	if !c.o.Users.Exists(ss.user) {
		c.sessions.delete(ck.Value)
		return nil
	}
	return ss
}

// localPath returns next when it is a path of this site, else "/": a sign-in link cannot send
// the browser elsewhere.
func localPath(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}
