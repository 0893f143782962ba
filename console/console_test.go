package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/storage"
)

func TestSignInRequiredAndCookie(t *testing.T) {
	e := newEnv(t)
	wr := e.seed(storage.StateSuccessful, "ok")
	c := e.client()

	// Signed out, every page sends the browser to sign in, and back afterwards.
	p := c.get("/")
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/sign-in" {
		t.Fatalf("GET / signed out: %d %q", p.Status, p.Header.Get("Location"))
	}
	p = c.get("/requests/" + wr.Number)
	want := "/sign-in?next=" + url.QueryEscape("/requests/"+wr.Number)
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != want {
		t.Fatalf("GET request signed out: %d %q, want %q", p.Status, p.Header.Get("Location"), want)
	}
	for _, path := range []string{"/definitions", "/rules", "/invalid-events", "/jobs/x"} {
		if p := c.get(path); p.Status != http.StatusSeeOther {
			t.Errorf("GET %s signed out: %d, want 303", path, p.Status)
		}
	}
	p = c.get("/sign-in")
	mustContain(t, p, `<label for="user">`, `<label for="password">`, `autocomplete="current-password"`)

	// Wrong credentials show the sign-in page again with an error, and set no cookie.
	for _, creds := range [][2]string{{"ada", "wrong"}, {"nobody", adaPassword}, {"", ""}} {
		p = c.signIn(creds[0], creds[1])
		if p.Status != http.StatusUnauthorized || p.Header.Get("Set-Cookie") != "" {
			t.Errorf("sign in %q: status %d, cookie %q", creds[0], p.Status, p.Header.Get("Set-Cookie"))
		}
		mustContain(t, p, "Wrong user name or password.", `action="/sign-in"`)
	}

	// The right ones: a session cookie, HttpOnly and SameSite, not Secure over plain HTTP.
	p = c.post("/sign-in", url.Values{"user": {"ada"}, "password": {adaPassword}, "next": {"/requests/" + wr.Number}})
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/requests/"+wr.Number {
		t.Fatalf("sign in: %d %q", p.Status, p.Header.Get("Location"))
	}
	ck := cookieOf(t, p)
	if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure || ck.Path != "/" || len(ck.Value) < 40 {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Lax, not Secure, Path=/, a long random value", ck)
	}
	p = c.get("/requests/" + wr.Number)
	if p.Status != http.StatusOK {
		t.Fatalf("GET request signed in: %d", p.Status)
	}
	mustContain(t, p, "ada", "Sign out")

	// Over TLS (a proxy in front says so) the cookie is Secure too.
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/sign-in", strings.NewReader(url.Values{"user": {"ada"}, "password": {adaPassword}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if ck := cookieOf(t, e.client().do(req)); !ck.Secure {
		t.Errorf("cookie over TLS %+v: want Secure", ck)
	}

	// Sign-out ends the session: the old token is worth nothing.
	token := ck.Value
	p = c.post("/sign-out", nil)
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/sign-in" {
		t.Fatalf("sign out: %d %q", p.Status, p.Header.Get("Location"))
	}
	if ck := cookieOf(t, p); ck.MaxAge >= 0 {
		t.Errorf("sign-out cookie %+v: want it cleared", ck)
	}
	stale := e.client()
	stale.jar.SetCookies(mustURL(t, e.srv.URL), []*http.Cookie{{Name: CookieName, Value: token}})
	if p := stale.get("/"); p.Status != http.StatusSeeOther {
		t.Errorf("GET / with the signed-out token: %d, want 303", p.Status)
	}
}

func TestSignInNextStaysOnTheSite(t *testing.T) {
	e := newEnv(t)
	for _, next := range []string{"//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"} {
		p := e.client().post("/sign-in", url.Values{"user": {"ada"}, "password": {adaPassword}, "next": {next}})
		if p.Header.Get("Location") != "/" {
			t.Errorf("next %q: redirected to %q, want /", next, p.Header.Get("Location"))
		}
	}
}

func TestSessionsExpire(t *testing.T) {
	e := newEnv(t)
	c := e.signedIn()
	if p := c.get("/"); p.Status != http.StatusOK {
		t.Fatalf("GET /: %d", p.Status)
	}
	e.advance(59 * time.Minute)
	if p := c.get("/"); p.Status != http.StatusOK {
		t.Fatalf("GET / after 59 minutes of use: %d", p.Status)
	}
	e.advance(61 * time.Minute) // idle for longer than an hour
	if p := c.get("/"); p.Status != http.StatusSeeOther {
		t.Errorf("GET / after an idle hour: %d, want 303 to sign in", p.Status)
	}
	// However busy, a session ends 12 hours after sign-in.
	c = e.signedIn()
	for range 14 {
		e.advance(55 * time.Minute)
		c.get("/definitions")
	}
	if p := c.get("/"); p.Status != http.StatusSeeOther {
		t.Errorf("GET / 12 hours after sign-in: %d, want 303 to sign in", p.Status)
	}
}

func cookieOf(t *testing.T, p resp) *http.Cookie {
	t.Helper()
	for _, ck := range (&http.Response{Header: p.Header}).Cookies() {
		if ck.Name == CookieName {
			return ck
		}
	}
	t.Fatalf("no %s cookie set (status %d)", CookieName, p.Status)
	return nil
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestCrossSitePostsAreRefused: a form another site makes the browser post changes nothing,
// whether the browser says where it comes from with Sec-Fetch-Site or only with Origin.
func TestCrossSitePostsAreRefused(t *testing.T) {
	e := newEnv(t)
	wr := e.seed(storage.StateRejected, "down")
	c := e.signedIn()
	for _, tc := range []struct{ site, origin string }{
		{"cross-site", "http://evil.example"},
		{"same-site", "http://evil.localhost"},
		{"", "http://evil.example"},
	} {
		for _, path := range []string{"/requests/" + wr.Number + "/delete", "/requests/" + wr.Number + "/resend", "/requests/delete", "/sign-out"} {
			p := c.postFrom(path, url.Values{"number": {wr.Number}, "scope": {"selected"}}, tc.site, tc.origin)
			if p.Status != http.StatusForbidden {
				t.Errorf("POST %s from %s (%s): status %d, want 403", path, tc.origin, tc.site, p.Status)
			}
			mustContain(t, p, "CROSS_ORIGIN", "Nothing was changed")
		}
	}
	if _, err := e.store.GetRequest(context.Background(), wr.Number); err != nil {
		t.Errorf("the request is gone after cross-site posts: %v", err)
	}
	if e.hits.Load() != 0 {
		t.Errorf("the receiver got %d resends from cross-site posts", e.hits.Load())
	}
	if p := c.get("/"); p.Status != http.StatusOK {
		t.Errorf("the session ended after a cross-site sign-out: %d", p.Status)
	}
	// A cross-site sign-in (login CSRF) is refused as well.
	if p := e.client().postFrom("/sign-in", url.Values{"user": {"ada"}, "password": {adaPassword}}, "cross-site", "http://evil.example"); p.Status != http.StatusForbidden {
		t.Errorf("cross-site sign-in: %d, want 403", p.Status)
	}
}

var (
	scriptTag    = regexp.MustCompile(`(?i)<script\b[^>]*>`)
	eventHandler = regexp.MustCompile(`(?i)<[^>]+\son[a-z]+\s*=`)
	styleAttr    = regexp.MustCompile(`(?i)<[^>]+\sstyle\s*=`)
)

// TestSecurityHeadersAndNoInlineScript: every page forbids inline script by its policy, and
// has none: no script element without src, no event handler attribute, no style attribute.
func TestSecurityHeadersAndNoInlineScript(t *testing.T) {
	e := newEnv(t)
	wr := e.seed(storage.StateRejected, "down")
	c := e.signedIn()
	pages := map[string]resp{"/sign-in": e.client().get("/sign-in")}
	for _, path := range []string{"/", "/?state=rejected", "/requests/" + wr.Number, "/requests/" + wr.Number + "/delete",
		"/confirm?action=delete&number=" + wr.Number, "/definitions", "/rules", "/invalid-events", "/nope", "/requests/WR-9999999999"} {
		pages[path] = c.get(path)
	}
	for path, p := range pages {
		if got := p.Header.Get("Content-Security-Policy"); got != ContentSecurityPolicy {
			t.Errorf("%s: CSP %q", path, got)
		}
		if !strings.Contains(ContentSecurityPolicy, "script-src 'self';") || strings.Contains(ContentSecurityPolicy, "unsafe") {
			t.Fatalf("the policy allows inline script: %s", ContentSecurityPolicy)
		}
		for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Cache-Control": "no-store"} {
			if got := p.Header.Get(h); got != want {
				t.Errorf("%s: %s %q, want %q", path, h, got, want)
			}
		}
		for _, tag := range scriptTag.FindAllString(p.Body, -1) {
			if !strings.Contains(tag, ` src="/static/console.js?v=`) {
				t.Errorf("%s: inline or foreign script %s", path, tag)
			}
		}
		if m := eventHandler.FindString(p.Body); m != "" {
			t.Errorf("%s: event handler attribute in %s", path, m)
		}
		if m := styleAttr.FindString(p.Body); m != "" {
			t.Errorf("%s: style attribute (the policy blocks it) in %s", path, m)
		}
		if strings.Contains(p.Body, "http://") && !strings.Contains(path, "requests/") && path != "/definitions" {
			// Pages name URLs of receivers as text only; no asset comes from elsewhere.
			for _, m := range regexp.MustCompile(`(?i)(src|href)="https?://[^"]*"`).FindAllString(p.Body, -1) {
				t.Errorf("%s: asset or link elsewhere: %s", path, m)
			}
		}
	}
	// Assets are served by the console itself, with their types.
	for name, ctype := range map[string]string{"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8", "favicon.svg": "image/svg+xml"} {
		p := e.client().get(assetURL(name))
		if p.Status != http.StatusOK || p.Header.Get("Content-Type") != ctype || !strings.Contains(p.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("%s: %d %q %q", name, p.Status, p.Header.Get("Content-Type"), p.Header.Get("Cache-Control"))
		}
	}
	if p := e.client().get("/static/nope.js"); p.Status != http.StatusNotFound {
		t.Errorf("unknown asset: %d", p.Status)
	}
}

// TestWhatReceiversSentIsEscaped: a receiver's body, an event's data and an invalid event are
// text on the page, never markup.
func TestWhatReceiversSentIsEscaped(t *testing.T) {
	e := newEnv(t)
	for _, evil := range []string{`<script>alert(1)</script>`, `<img src=x onerror=alert(1)>`, `"><svg onload=alert(1)>`} {
		wr := e.seed(storage.StateSuccessful, evil)
		p := e.signedIn().get("/requests/" + wr.Number)
		if p.Status != http.StatusOK {
			t.Fatalf("GET %s: %d", wr.Number, p.Status)
		}
		if strings.Contains(p.Body, evil) {
			t.Errorf("the receiver's body %s is in the page as markup", evil)
		}
		mustContain(t, p, strings.NewReplacer("<", "&lt;", ">", "&gt;", `"`, "&#34;").Replace(evil))
		// The event's data (a JSON string with markup in it), indented and escaped.
		mustContain(t, p, `&#34;name&#34;: &#34;&lt;b&gt;Ada&lt;/b&gt;&#34;`)
	}
	ctx := context.Background()
	if err := e.store.InsertInvalidEvents(ctx, []storage.InvalidEvent{{Subject: "crm.events.<script>", Body: `<img src=x onerror=alert(1)>`,
		Reason: "not JSON: <b>", ReceivedAt: time.Now(), MsgID: "1"}}); err != nil {
		t.Fatal(err)
	}
	p := e.signedIn().get("/invalid-events")
	mustContain(t, p, "crm.events.&lt;script&gt;", "&lt;img src=x onerror=alert(1)&gt;", "not JSON: &lt;b&gt;")
	if strings.Contains(p.Body, "<img src=x") || strings.Contains(p.Body, "<b>") {
		t.Errorf("invalid event shown as markup:\n%s", p.Body)
	}
}

func TestThrottleOnWrongPasswords(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	for i := range freeFailures {
		if p := c.signIn("ada", "wrong"); p.Status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d", i+1, p.Status)
		}
	}
	// Now even the right password waits, and the page says how long.
	p := c.signIn("ada", adaPassword)
	if p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") != "1" {
		t.Fatalf("after %d wrong passwords: %d, Retry-After %q", freeFailures, p.Status, p.Header.Get("Retry-After"))
	}
	mustContain(t, p, "Too many wrong passwords: try again in 1 second.")
	// The lockout doubles with each further failure.
	e.advance(time.Second)
	c.signIn("ada", "wrong")
	if p := c.signIn("ada", adaPassword); p.Header.Get("Retry-After") != "2" {
		t.Fatalf("after another wrong password: %d, Retry-After %q, want 2", p.Status, p.Header.Get("Retry-After"))
	}
	e.advance(2 * time.Second)
	if p := c.signIn("ada", adaPassword); p.Status != http.StatusSeeOther {
		t.Fatalf("after the lockout: %d", p.Status)
	}
	// A success clears the count: the next wrong password is a free one again.
	if p := c.signIn("ada", "wrong"); p.Status != http.StatusUnauthorized {
		t.Fatalf("first wrong password after a success: %d", p.Status)
	}

	// From one address, wrong passwords for many users add up too.
	e.advance(time.Hour + time.Second)
	for i := range freeFailures {
		c.signIn("user"+string(rune('a'+i)), "guess")
	}
	if p := c.signIn("grace", gracePassword); p.Status != http.StatusTooManyRequests {
		t.Errorf("after %d wrong passwords from one address for several users: %d, want 429", freeFailures, p.Status)
	}
}

func TestThrottleBounds(t *testing.T) {
	now := time.Unix(0, 0)
	th := newThrottle(func() time.Time { return now })
	for range 100 {
		th.fail("k")
	}
	if d := th.wait("k"); d != maxLockout {
		t.Errorf("after 100 failures: wait %s, want the cap %s", d, maxLockout)
	}
	now = now.Add(maxLockout)
	if d := th.wait("k"); d != 0 {
		t.Errorf("after the lockout: wait %s", d)
	}
	for i := range maxKeys + 10 {
		th.fail(string(rune(i)) + "x")
	}
	if len(th.keys) > maxKeys {
		t.Errorf("%d keys kept, at most %d", len(th.keys), maxKeys)
	}
}

// TestUsersFileIsReRead: a user added to the file can sign in at once; a user removed from it is
// signed out; a file that cannot be read keeps the users read last.
func TestUsersFileIsReRead(t *testing.T) {
	e := newEnv(t)
	ada := e.signedIn()
	if p := e.client().signIn("linus", "penguin"); p.Status != http.StatusUnauthorized {
		t.Fatalf("linus before he is added: %d", p.Status)
	}
	writeUsers(t, e.users, "grace:"+hash(t, gracePassword), "linus:"+hash(t, "penguin"), "broken line", "md5:$apr1$abc$def")
	if p := e.client().signIn("linus", "penguin"); p.Status != http.StatusSeeOther {
		t.Fatalf("linus once added: %d", p.Status)
	}
	if p := ada.get("/"); p.Status != http.StatusSeeOther {
		t.Errorf("ada, removed from the file, still signed in: %d", p.Status)
	}
	if p := e.client().signIn("ada", adaPassword); p.Status != http.StatusUnauthorized {
		t.Errorf("ada, removed from the file, signs in: %d", p.Status)
	}
	if p := e.client().signIn("md5", "x"); p.Status != http.StatusUnauthorized {
		t.Errorf("a user of a non-bcrypt entry signs in: %d", p.Status)
	}
	if err := os.Remove(e.users); err != nil {
		t.Fatal(err)
	}
	if p := e.client().signIn("grace", gracePassword); p.Status != http.StatusSeeOther {
		t.Errorf("grace, after the file went away: %d (the users read last stay)", p.Status)
	}
}

func TestOpenUsersFileRefusesAFileWithoutBcrypt(t *testing.T) {
	path := t.TempDir() + "/users"
	if _, err := OpenUsersFile(path, nil); err == nil {
		t.Error("a missing file opened")
	}
	writeUsers(t, path, "ada:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "grace:plain")
	if _, err := OpenUsersFile(path, nil); err == nil || !strings.Contains(err.Error(), "no bcrypt entries") {
		t.Errorf("a file without bcrypt entries: %v", err)
	}
}

func TestGeneratedAdmin(t *testing.T) {
	dir := t.TempDir()
	u, path, created, err := GeneratedAdmin(dir)
	if err != nil || !created {
		t.Fatalf("GeneratedAdmin: created=%v err=%v", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, mode %v, want 0600", path, err, fi.Mode())
	}
	b, _ := os.ReadFile(path)
	pw := strings.TrimSpace(string(b))
	if len(pw) < 20 || !u.Check(AdminUser, pw) || u.Check(AdminUser, pw+"x") || u.Check("root", pw) {
		t.Fatalf("the generated password (%d characters) does not sign admin in, or signs in more", len(pw))
	}
	u2, _, created, err := GeneratedAdmin(dir)
	if err != nil || created || !u2.Check(AdminUser, pw) {
		t.Errorf("second start: created=%v err=%v, or the password changed", created, err)
	}
}

func TestSummaryPage(t *testing.T) {
	e := newEnv(t)
	var rejected []*storage.WebhookRequest
	for i := range 5 {
		state := storage.StateSuccessful
		if i%2 == 0 {
			state = storage.StateRejected
		}
		wr := e.seed(state, "b")
		if state == storage.StateRejected {
			rejected = append(rejected, wr)
		}
	}
	c := e.signedIn()
	p := c.get("/")
	if p.Status != http.StatusOK {
		t.Fatalf("GET /: %d\n%s", p.Status, p.Body)
	}
	// Every criterion of the search is a labelled control, named as the control plane names it.
	for id, name := range map[string]string{"f-state": "state", "f-entity": "entity", "f-entity-id": "entity_id", "f-event-id": "event_id",
		"f-definition": "webhook_definition", "f-rule": "workflow_rule", "f-from": "created_from", "f-to": "created_to"} {
		mustContain(t, p, `<label for="`+id+`">`, `id="`+id+`" name="`+name+`"`)
	}
	mustContain(t, p, "Manage webhook requests", "ACTIONS", ">DELETE<", ">RESEND<", `<option value="erp"`, "ERP sync (erp)",
		`id="count-total">5<`, `id="count-successful">2<`, `id="count-rejected">3<`, "<svg", `class="bar-bad"`, "Error Code", "HTTP_503")
	// Newest first, each number linking to its page.
	first := strings.Index(p.Body, rejected[2].Number)
	last := strings.Index(p.Body, rejected[0].Number)
	if first < 0 || last < 0 || first > last {
		t.Errorf("rows not newest first (%d, %d)", first, last)
	}
	mustContain(t, p, `<a href="/requests/`+rejected[0].Number+`">`)

	// The search is in the URL, and the counts follow it.
	p = c.get("/?state=rejected&webhook_definition=erp")
	mustContain(t, p, `<option value="rejected" selected>`, `id="count-total">3<`, `id="count-successful">0<`)
	if strings.Count(p.Body, `class="row-check"`) != 3 {
		t.Errorf("%d rows for state=rejected, want 3", strings.Count(p.Body, `class="row-check"`))
	}

	// Paged with the control plane's cursor.
	p = c.get("/?limit=25&state=rejected")
	mustContain(t, p, `<option value="25" selected>`)
	e.seed(storage.StateRejected, "b") // now 4 rejected
	p = c.get("/?state=rejected&limit=25")
	if strings.Contains(p.Body, `id="next-page"`) {
		t.Error("a next page when everything fits")
	}
	// 29 rejected: a page of 25, then the 4 older ones.
	for range 25 {
		e.seed(storage.StateRejected, "b")
	}
	p = c.get("/?state=rejected&limit=25")
	m := regexp.MustCompile(`href="(/\?[^"]*after=[^"]*)"[^>]*id="next-page"`).FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no next page link:\n%s", p.Body)
	}
	next := strings.ReplaceAll(m[1], "&amp;", "&")
	p2 := c.get(next)
	if p2.Status != http.StatusOK || strings.Count(p2.Body, `class="row-check"`) != 4 {
		t.Errorf("next page: %d, %d rows, want 4", p2.Status, strings.Count(p2.Body, `class="row-check"`))
	}
	mustContain(t, p2, "« Newest")

	// The time controls take what a datetime-local control sends (UTC).
	from := time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04")
	p = c.get("/?created_from=" + from)
	if p.Status != http.StatusOK {
		t.Errorf("created_from %s: %d", from, p.Status)
	}
	mustContain(t, p, "over the searched time")

	// A search the control plane refuses shows its code and message.
	p = c.get("/?created_from=yesterday")
	if p.Status != http.StatusBadRequest {
		t.Errorf("created_from=yesterday: %d, want 400", p.Status)
	}
	mustContain(t, p, "BAD_REQUEST", "is not an RFC 3339 time")
	p = c.get("/?state=lost")
	mustContain(t, p, "BAD_REQUEST", "filter.state")
}

func TestChartWindow(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 17, 0, 0, time.UTC)
	from, to, bucket, _ := chartWindow(filterForm{Range: "24h"}, storage.Filter{}, now)
	if !to.Equal(time.Date(2026, 11, 27, 11, 0, 0, 0, time.UTC)) || to.Sub(from) != 24*time.Hour || bucket != time.Hour {
		t.Errorf("24h: %s – %s by %s", from, to, bucket)
	}
	f := storage.Filter{CreatedFrom: now.Add(-48 * time.Hour), CreatedTo: now}
	from, to, bucket, _ = chartWindow(filterForm{Range: "24h"}, f, now)
	if !from.Equal(f.CreatedFrom) || !to.Equal(f.CreatedTo) || bucket != 2*time.Hour {
		t.Errorf("searched times: %s – %s by %s", from, to, bucket)
	}
}

// auditOf returns the audit entries of a command, newest first.
func (e *env) auditOf(command string) []storage.AuditEntry {
	e.t.Helper()
	all, err := e.store.ListAudit(context.Background(), 100)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []storage.AuditEntry
	for _, a := range all {
		if a.Command == command {
			out = append(out, a)
		}
	}
	return out
}

func TestRequestPageResendAndDelete(t *testing.T) {
	e := newEnv(t)
	ok := e.seed(storage.StateSuccessful, `{"accepted":true}`)
	bad := e.seed(storage.StateRejected, "down")
	c := e.signedIn()

	p := c.get("/requests/" + ok.Number)
	// Every field of the contract's section 5, the secret masked, the state in words.
	mustContain(t, p, "Number", "Life Cycle State", "Entity", "Entity ID", "Event ID", "URL", "Secret Key", "Fields Set",
		"Request", "Response", "Webhook Definition", "Workflow Rule", "Attempts", "Error Code", "Error Description", "Log Information",
		"Created at", "Created by", "Updated at", "Updated by", "whsec_…LaSw", "✓</span> successful", "banner-ok",
		"&#34;accepted&#34;: true", "(rejected only)")
	if strings.Contains(p.Body, testSecret) || strings.Contains(p.Body, `action="/requests/`+ok.Number+`/resend"`) {
		t.Error("the secret, or a RESEND of a successful request, is on the page")
	}
	p = c.get("/requests/" + bad.Number)
	mustContain(t, p, "✕</span> rejected", "banner-bad", "HTTP_503", "receiver answered 503", `action="/requests/`+bad.Number+`/resend"`,
		`<dialog id="delete-dialog"`, ">Yes<", ">No<")

	// RESEND, rejected again: the page says so, with the new error code and description.
	e.status.Store(http.StatusBadGateway)
	p = c.post("/requests/"+bad.Number+"/resend", nil)
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/requests/"+bad.Number {
		t.Fatalf("resend: %d %q", p.Status, p.Header.Get("Location"))
	}
	p = c.get("/requests/" + bad.Number)
	mustContain(t, p, "RESEND rejected", "HTTP_502", "Updated by</dt><dd>ada")

	// RESEND, successful: the new request's page, with a link to it.
	e.status.Store(http.StatusOK)
	p = c.post("/requests/"+bad.Number+"/resend", nil)
	loc := p.Header.Get("Location")
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(loc, "/requests/WR-") || loc == "/requests/"+bad.Number {
		t.Fatalf("resend: %d %q", p.Status, loc)
	}
	p = c.get(loc)
	mustContain(t, p, "RESEND successful", `<a href="`+loc+`">`, "Resent from", bad.Number, "Created by</dt><dd>ada")
	if e.hits.Load() != 2 {
		t.Errorf("receiver got %d resends, want 2", e.hits.Load())
	}
	resends := e.auditOf("requests.resend")
	if len(resends) != 2 || resends[0].User != "ada" || !resends[0].OK {
		t.Errorf("resend audit %+v: want 2 entries by ada", resends)
	}

	// RESEND of what is no longer rejected: the control plane's code and message.
	p = c.post("/requests/"+bad.Number+"/resend", nil)
	p = c.get(p.Header.Get("Location"))
	mustContain(t, p, "NOT_FOUND", "does not exist")

	// DELETE: a confirmation page without script, then gone, audited.
	p = c.get("/requests/" + ok.Number + "/delete")
	mustContain(t, p, "DELETE "+ok.Number+"?", ">Yes<", ">No<")
	p = c.post("/requests/"+ok.Number+"/delete", nil)
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/" {
		t.Fatalf("delete: %d %q", p.Status, p.Header.Get("Location"))
	}
	mustContain(t, c.get("/"), ok.Number+" deleted")
	if p := c.get("/requests/" + ok.Number); p.Status != http.StatusNotFound {
		t.Errorf("deleted request: %d", p.Status)
	} else {
		mustContain(t, p, "NOT_FOUND")
	}
	if del := e.auditOf("requests.delete"); len(del) != 1 || del[0].User != "ada" || !strings.Contains(del[0].Request, ok.Number) {
		t.Errorf("delete audit %+v", del)
	}
}

func TestBulkDeleteAndResend(t *testing.T) {
	e := newEnv(t)
	var reqs []*storage.WebhookRequest
	for range 6 {
		reqs = append(reqs, e.seed(storage.StateRejected, "down"))
	}
	c := e.signedIn()

	// Without script, ACTIONS > DELETE goes to a confirmation page whose button is Save.
	p := c.get("/confirm?action=delete&number=" + reqs[0].Number + "&number=" + reqs[1].Number + "&state=rejected&back=%2F%3Fstate%3Drejected")
	mustContain(t, p, "DELETE webhook requests", ">Save<", "The 2 checked", "(6)", `name="number" value="`+reqs[0].Number+`"`)

	// The checked rows at once.
	p = c.post("/requests/delete", url.Values{"scope": {"selected"}, "number": {reqs[0].Number, reqs[1].Number}, "back": {"/?state=rejected"}})
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/?state=rejected" {
		t.Fatalf("bulk delete: %d %q", p.Status, p.Header.Get("Location"))
	}
	mustContain(t, c.get("/?state=rejected"), "Deleted 2 webhook requests.")
	if n, _ := e.store.CountRequests(context.Background(), storage.Filter{}); n != 4 {
		t.Fatalf("%d requests left, want 4", n)
	}

	// Resend every rejected one that matches the search: a job whose page shows progress.
	p = c.post("/requests/resend", url.Values{"scope": {"filter"}, "entity": {"customer"}, "back": {"/?entity=customer"}})
	job := p.Header.Get("Location")
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(job, "/jobs/") {
		t.Fatalf("bulk resend: %d %q", p.Status, job)
	}
	waitJob(t, c, job)
	p = c.get(job)
	mustContain(t, p, "RESEND: every rejected webhook request that matches the search", `id="job-result"`, "Back to the search",
		`href="/?entity=customer"`)
	if !regexp.MustCompile(`tile-ok"><span class="tile-n">4<`).MatchString(p.Body) {
		t.Errorf("job page does not say 4 successful:\n%s", p.Body)
	}
	// The job is ada's: another user does not see it.
	grace := e.client()
	grace.signIn("grace", gracePassword)
	if p := grace.get(job); p.Status != http.StatusNotFound {
		t.Errorf("grace sees ada's job: %d", p.Status)
	}

	// Delete every request that matches the search.
	p = c.post("/requests/delete", url.Values{"scope": {"filter"}, "state": {"successful"}, "back": {"/"}})
	job = p.Header.Get("Location")
	waitJob(t, c, job)
	mustContain(t, c.get(job), "Deleted 4 webhook requests.")
	if n, _ := e.store.CountRequests(context.Background(), storage.Filter{}); n != 0 {
		t.Errorf("%d requests left, want 0", n)
	}
	// By filter with an empty search: the control plane's refusal.
	p = c.post("/requests/delete", url.Values{"scope": {"filter"}, "back": {"/"}})
	job = p.Header.Get("Location")
	waitJob(t, c, job)
	mustContain(t, c.get(job), "FILTER_REQUIRED")
	// Nothing checked.
	p = c.post("/requests/delete", url.Values{"scope": {"selected"}, "back": {"/"}})
	mustContain(t, c.get(p.Header.Get("Location")), "No webhook request was checked")

	for _, a := range append(e.auditOf("requests.delete"), e.auditOf("requests.resend")...) {
		if a.User != "ada" {
			t.Errorf("audit entry by %q, want ada: %+v", a.User, a)
		}
	}
	if n := len(e.auditOf("requests.delete")); n != 3 {
		t.Errorf("%d delete audit entries, want 3", n)
	}
}

// waitJob polls a job's progress until it is finished.
func waitJob(t *testing.T, c *client, job string) {
	t.Helper()
	testutil.Eventually(t, 30*time.Second, "job "+job+" to finish", func() bool {
		p := c.get(job + "/progress")
		var pr struct {
			Finished bool `json:"finished"`
		}
		return p.Status == http.StatusOK && json.Unmarshal([]byte(p.Body), &pr) == nil && pr.Finished
	})
}

func TestDefinitionsAndReactivation(t *testing.T) {
	e := newEnv(t)
	c := e.signedIn()
	p := c.get("/definitions")
	mustContain(t, p, "ERP sync", "whsec_…LaSw", "Authorization", "active")
	if strings.Contains(p.Body, testSecret) || strings.Contains(p.Body, "very-secret-token") {
		t.Fatal("a secret is on the definitions page")
	}
	mustContain(t, c.get("/rules"), "Customer changes", `href="/definitions#def-erp"`)

	// Endpoint health deactivates it: the page says why and since when, and offers to reactivate.
	ctx := context.Background()
	at := time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC)
	if _, err := e.store.DisableDefinition(ctx, "erp", "the receiver answered 410 Gone", at); err != nil {
		t.Fatal(err)
	}
	p = c.get("/definitions")
	mustContain(t, p, "inactive", "Deactivated by endpoint health since <strong>2026-11-27 09:30:00 UTC</strong>: the receiver answered 410 Gone",
		`action="/definitions/erp/reactivate"`, "Reactivate")
	p = c.post("/definitions/erp/reactivate", nil)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("reactivate: %d", p.Status)
	}
	mustContain(t, c.get("/definitions"), "is active again")
	d, err := e.store.GetDefinition(ctx, "erp")
	if err != nil || !d.Active || d.DisabledReason != "" || d.SecretKey != testSecret || d.Headers["Authorization"] != "Bearer very-secret-token" || d.UpdatedBy != "ada" {
		t.Fatalf("after reactivation: %+v (%v)", d, err)
	}
	apply := e.auditOf("config.apply")
	if len(apply) != 1 || apply[0].User != "ada" || !apply[0].OK || strings.Contains(apply[0].Request, testSecret) {
		t.Errorf("config.apply audit %+v", apply)
	}
	p = c.post("/definitions/nope/reactivate", nil)
	mustContain(t, c.get(p.Header.Get("Location")), "NOT_FOUND")
}
