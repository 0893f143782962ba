package console

import (
	"github.com/webhookd/webhookd/control/controlapi"

	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// CookieName is the session cookie's name.
const CookieName = "webhookd_console"

// maxSessions bounds the sessions kept; the least recently used make room.
const maxSessions = 10000

// session is a signed-in user's, kept on the server: the cookie holds only a random token,
// and the server only the token's hash.
type session struct {
	user     string
	created  time.Time
	lastSeen time.Time
	flashes  []flash // shown once, on the next page
}

// flash is a message shown once, on the page after a redirect.
type flash struct {
	Kind     string // "ok", "warn" or "error"
	Text     string
	Code     controlapi.Code // the control plane's error code, if any
	Link     string          // a link the message offers (a new request), if any
	LinkText string
}

type sessions struct {
	mu     sync.Mutex
	byHash map[[32]byte]*session
	idle   time.Duration
	maxAge time.Duration
	now    func() time.Time
}

func newSessions(idle, maxAge time.Duration, now func() time.Time) *sessions {
	return &sessions{byHash: map[[32]byte]*session{}, idle: idle, maxAge: maxAge, now: now}
}

func hashToken(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// create starts a session for user and returns its token.
func (s *sessions) create(user string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	token := base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byHash) >= maxSessions {
		s.pruneLocked(now)
	}
	s.byHash[hashToken(token)] = &session{user: user, created: now, lastSeen: now}
	return token
}

// get returns the session of a token, unless it expired (idle for too long, or too old).
func (s *sessions) get(token string) *session {
	if token == "" {
		return nil
	}
	h := hashToken(token)
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.byHash[h]
	if ss == nil {
		return nil
	}
	if now.Sub(ss.lastSeen) > s.idle || now.Sub(ss.created) > s.maxAge {
		delete(s.byHash, h)
		return nil
	}
	ss.lastSeen = now
	return ss
}

func (s *sessions) delete(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byHash, hashToken(token))
}

// addFlash keeps a message for the session's next page.
func (s *sessions) addFlash(ss *session, f flash) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(ss.flashes) < 10 {
		ss.flashes = append(ss.flashes, f)
	}
}

// takeFlashes returns the session's messages and forgets them.
func (s *sessions) takeFlashes(ss *session) []flash {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := ss.flashes
	ss.flashes = nil
	return f
}

// pruneLocked drops expired sessions, then the least recently used tenth if still full.
func (s *sessions) pruneLocked(now time.Time) {
	for h, ss := range s.byHash {
		if now.Sub(ss.lastSeen) > s.idle || now.Sub(ss.created) > s.maxAge {
			delete(s.byHash, h)
		}
	}
	if len(s.byHash) < maxSessions*9/10 {
		return
	}
	type entry struct {
		h  [32]byte
		at time.Time
	}
	all := make([]entry, 0, len(s.byHash))
	for h, ss := range s.byHash {
		all = append(all, entry{h, ss.lastSeen})
	}
	slices.SortFunc(all, func(a, b entry) int { return a.at.Compare(b.at) })
	for _, e := range all[:len(all)-maxSessions*9/10+1] {
		delete(s.byHash, e.h)
	}
}

// secure reports whether the request came over TLS, to webhookd or to a proxy in front of it
// that says so: the cookie is then Secure.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// sessionCookie is the cookie of a session token; an empty token clears it.
func sessionCookie(r *http.Request, token string, maxAge time.Duration) *http.Cookie {
	c := &http.Cookie{
		Name: CookieName, Value: token, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure(r),
	}
	if token == "" {
		c.MaxAge = -1
	} else {
		c.MaxAge = int(maxAge.Seconds())
	}
	return c
}
