package console

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/control"
	"github.com/webhookd/webhookd/internal/fakedeliverer"
	"github.com/webhookd/webhookd/internal/natstest"
	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/redact"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/storage/sqlite"
	"github.com/webhookd/webhookd/webhook"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The handlers' tests run the console on the real control plane: a responder on an in-process
// NATS server and a SQLite store, so that what the pages show is what the commands answer.

const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// Passwords of the test users; bcrypt.MinCost keeps the tests fast.
const (
	adaPassword   = "correct horse battery staple"
	gracePassword = "another one"
)

var _ Backend = (*control.Responder)(nil)

type env struct {
	t       *testing.T
	store   *sqlite.Store
	resp    *control.Responder
	console *Console
	srv     *httptest.Server
	users   string // the htpasswd file
	// The receiver's answer: its status and body.
	status atomic.Int32
	body   atomic.Pointer[string]
	hits   atomic.Int64
	now    atomic.Pointer[time.Time]
}

func hash(t testing.TB, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func writeUsers(t testing.TB, path string, lines ...string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t}
	e.status.Store(http.StatusOK)
	okBody := `{"ok":true}`
	e.body.Store(&okBody)
	now := time.Now()
	e.now.Store(&now)

	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		e.hits.Add(1)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(int(e.status.Load()))
		_, _ = io.WriteString(w, *e.body.Load())
	}))
	t.Cleanup(rc.Close)

	url := natstest.URL(t, func(o *server.Options) { o.JetStream = false })
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "webhookd.db"), testutil.Keyring(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	e.store = st
	d := config.Defaults()
	d.ID, d.Name, d.URL, d.SecretKey = "erp", "ERP sync", rc.URL, testSecret
	d.Headers = map[string]string{"Authorization": "Bearer very-secret-token"}
	if err := st.ApplyConfig(ctx, []config.Definition{d}, []config.Rule{{ID: "r1", Name: "Customer changes", Entity: "customer",
		WebhookDefinitions: []string{"erp"}, Active: true}}, "test", time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	e.resp, err = control.Start(ctx, control.Options{Conn: nc, Store: st, Deliverer: fakedeliverer.New(t), ProgressInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.resp.Stop(context.Background()) })

	e.users = filepath.Join(t.TempDir(), "users")
	writeUsers(t, e.users, "ada:"+hash(t, adaPassword), "grace:"+hash(t, gracePassword))
	users, err := OpenUsersFile(e.users, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.console, err = New(Options{Backend: e.resp, Store: st, Users: users, Version: "test",
		Now: func() time.Time { return *e.now.Load() }})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.console)
	t.Cleanup(func() {
		e.srv.Close()
		_ = e.console.Shutdown(context.Background())
	})
	return e
}

// advance moves the console's clock.
func (e *env) advance(d time.Duration) {
	n := e.now.Load().Add(d)
	e.now.Store(&n)
}

// seed writes a request of definition erp in state state, with the response body given.
func (e *env) seed(state, responseBody string) *storage.WebhookRequest {
	e.t.Helper()
	ctx := context.Background()
	seq, err := e.store.ReserveNumbers(ctx, 1)
	if err != nil {
		e.t.Fatal(err)
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	ev := fmt.Sprintf("ev-%d", seq)
	wr := &storage.WebhookRequest{
		Number: storage.FormatNumber(seq), Seq: seq, WebhookID: webhook.NewWebhookID(ev, "r1", "erp"),
		State: state, Entity: "customer", EntityID: "C-" + fmt.Sprint(seq), EventID: ev,
		URL: "http://erp.example/hooks", SecretKey: redact.Secret(testSecret),
		Request: storage.RequestInfo{Method: "POST", URL: "http://erp.example/hooks",
			Headers: map[string]string{"Content-Type": "application/json", "Authorization": "••••"},
			Body:    `{"type":"customer.updated","data":{"event_id":"` + ev + `","fields":{"name":"<b>Ada</b>"}}}`, SentAt: at},
		Response:          &storage.ResponseInfo{Status: 200, Headers: map[string]string{"Content-Type": "text/html"}, Body: responseBody, DurationMS: 4},
		WebhookDefinition: storage.Ref{ID: "erp", Name: "ERP sync"}, WorkflowRule: storage.Ref{ID: "r1", Name: "Customer changes"},
		Attempts: 1,
		Log:      storage.Log{CreatedAt: at, CreatedBy: storage.SystemUser, UpdatedAt: at, UpdatedBy: storage.SystemUser},
	}
	if state == storage.StateRejected {
		wr.Response.Status = 503
		wr.ErrorCode, wr.ErrorDescription = "HTTP_503", "receiver answered 503 Service Unavailable"
		wr.Attempts = 6
	}
	if _, err := e.store.InsertRequests(ctx, []*storage.WebhookRequest{wr}); err != nil {
		e.t.Fatal(err)
	}
	return wr
}

// client is a browser: it keeps cookies, does not follow redirects, and says (as browsers
// do) that its requests come from the console's own pages.
type client struct {
	e   *env
	hc  *http.Client
	jar *cookiejar.Jar
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, jar: jar, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type resp struct {
	Status int
	Header http.Header
	Body   string
}

func (c *client) do(req *http.Request) resp {
	c.e.t.Helper()
	hr, err := c.hc.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer hr.Body.Close()
	b, _ := io.ReadAll(hr.Body)
	return resp{Status: hr.StatusCode, Header: hr.Header, Body: string(b)}
}

func (c *client) get(path string) resp {
	c.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.e.srv.URL+path, nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return c.do(req)
}

// post sends a form as the console's own page would.
func (c *client) post(path string, form url.Values) resp {
	c.e.t.Helper()
	return c.postFrom(path, form, "same-origin", c.e.srv.URL)
}

func (c *client) postFrom(path string, form url.Values, fetchSite, origin string) resp {
	c.e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if fetchSite != "" {
		req.Header.Set("Sec-Fetch-Site", fetchSite)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	return c.do(req)
}

func (c *client) signIn(user, password string) resp {
	c.e.t.Helper()
	return c.post("/sign-in", url.Values{"user": {user}, "password": {password}})
}

// signedIn is a client signed in as ada.
func (e *env) signedIn() *client {
	e.t.Helper()
	c := e.client()
	if p := c.signIn("ada", adaPassword); p.Status != http.StatusSeeOther {
		e.t.Fatalf("sign in: status %d\n%s", p.Status, p.Body)
	}
	return c
}

func mustContain(t *testing.T, p resp, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(p.Body, s) {
			t.Errorf("page (status %d) does not contain %q:\n%s", p.Status, s, p.Body)
		}
	}
}
