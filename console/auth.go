package console

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"time"
)

// maxCredential bounds a user name or password read from the sign-in form (bcrypt reads at
// most 72 bytes of a password anyway).
const maxCredential = 256

type signInView struct {
	Next  string
	User  string
	Error string
}

func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	if c.sessionOf(r) != nil {
		http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.render(w, r, nil, http.StatusOK, "sign-in", "Sign in", signInView{Next: localPath(r.URL.Query().Get("next"))})
}

// clientAddr is the address the request came from (the peer: a header can be forged).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		c.render(w, r, nil, http.StatusBadRequest, "sign-in", "Sign in", signInView{Error: "The form could not be read."})
		return
	}
	user, password := r.PostForm.Get("user"), r.PostForm.Get("password")
	view := signInView{Next: localPath(r.PostForm.Get("next")), User: user}
	if len(user) > maxCredential || len(password) > maxCredential {
		view.User, view.Error = "", "Wrong user name or password."
		c.render(w, r, nil, http.StatusUnauthorized, "sign-in", "Sign in", view)
		return
	}
	keys := []string{"user:" + user, "addr:" + clientAddr(r)}
	if d := c.throttle.wait(keys...); d > 0 {
		secs := int(math.Ceil(d.Seconds()))
		w.Header().Set("Retry-After", fmt.Sprint(secs))
		view.Error = fmt.Sprintf("Too many wrong passwords: try again in %d %s.", secs, plural(secs, "second", "seconds"))
		c.o.Log.Warn("console sign-in throttled", "user", c.logName(user), "client", clientAddr(r), "wait", d.Round(time.Second).String())
		c.render(w, r, nil, http.StatusTooManyRequests, "sign-in", "Sign in", view)
		return
	}
	select {
	case c.bcryptSlots <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	ok := user != "" && c.o.Users.Check(user, password)
	<-c.bcryptSlots
	if !ok {
		c.throttle.fail(keys...)
		c.o.Log.Info("console sign-in refused: wrong user name or password", "user", c.logName(user), "client", clientAddr(r))
		view.Error = "Wrong user name or password."
		c.render(w, r, nil, http.StatusUnauthorized, "sign-in", "Sign in", view)
		return
	}
	c.throttle.succeed(keys...)
	// A new token at every sign-in: a session token known before it is worth nothing.
	if old, err := r.Cookie(CookieName); err == nil {
		c.sessions.delete(old.Value)
	}
	token := c.sessions.create(user)
	http.SetCookie(w, sessionCookie(r, token, c.o.SessionMaxAge))
	c.o.Log.Info("console sign-in", "user", user, "client", clientAddr(r))
	http.Redirect(w, r, view.Next, http.StatusSeeOther)
}

func (c *Console) signOut(w http.ResponseWriter, r *http.Request) {
	if ck, err := r.Cookie(CookieName); err == nil {
		if ss := c.sessions.get(ck.Value); ss != nil {
			c.o.Log.Info("console sign-out", "user", ss.user)
		}
		c.sessions.delete(ck.Value)
	}
	http.SetCookie(w, sessionCookie(r, "", 0))
	http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
}

// logName is a user name as the log may show it: a name that is no user's is not logged, since
// it may be a password typed into the wrong field.
func (c *Console) logName(user string) string {
	if c.o.Users.Exists(user) {
		return user
	}
	return "(not a user)"
}
