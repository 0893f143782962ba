package browsertest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"

	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/internal/workertest"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/worker"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// chromiumPath is Debian's Chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

const (
	user     = "ada"
	password = "correct horse battery staple"
)

// evilBody is what a hostile receiver answers: if any of it ran, window.__xss would be set or a
// dialog would open.
const evilBody = `<script>window.__xss = 1; alert(1)</script><img src=x onerror="window.__xss = 2; alert(2)">`

// evilEntityID is an entity id an event carries, shown in the summary's table.
const evilEntityID = `<img src=x onerror="window.__xss=3">`

// watch is what a tab did besides its pages: the JavaScript dialogs it opened and the errors and
// warnings of its console.
type watch struct {
	dialogs atomic.Int64
	mu      sync.Mutex
	errors  []string
}

func (w *watch) consoleErrors() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.errors...)
}

// browser starts headless Chromium with a fresh profile and returns a tab's context. It fails,
// saying how to install Chromium, when there is none; -short skips.
func browser(t *testing.T) (context.Context, *watch) {
	t.Helper()
	if testing.Short() {
		t.Skip("drives a real browser (Chromium)")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser tests need Chromium at %s (%v): install it with\n"+
			"  sudo apt-get update && sudo apt-get install -y chromium\n"+
			"(.ci/run does this), or skip these tests with go test -short", chromiumPath, err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(1280, 800),
		// Without these, Chromium stalls on a closed network, reaching for its services.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("no-pings", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTime := context.WithTimeout(ctx, 4*time.Minute)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
		wg.Wait()
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	// Any JavaScript dialog (alert, confirm) is counted, and dismissed so the page goes on; the
	// console's errors (a script error, a resource the policy refused) are kept.
	w := &watch{}
	opened := chromedp.Events(ctx, page.JavascriptDialogOpening)
	messages := chromedp.Console(ctx)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for _, err := range opened {
			if err != nil {
				return // the tab's context ended
			}
			w.dialogs.Add(1)
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	go func() {
		defer wg.Done()
		for m, err := range messages {
			if err != nil {
				return
			}
			// A page's HTTP status (the 401 of a wrong password) is the network's message, not an error.
			if m.Source != "network" && (m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException || m.Type == chromedp.ConsoleWarning) {
				w.mu.Lock()
				w.errors = append(w.errors, fmt.Sprintf("%s %s (%s)", m.Type, m.Text, m.URL))
				w.mu.Unlock()
			}
		}
	}()
	return ctx, w
}

// auditor lists the audit entries (both stores have it).
type auditor interface {
	ListAudit(ctx context.Context, limit int) ([]storage.AuditEntry, error)
}

type fixture struct {
	e       *workertest.Env
	console string // the console's base URL
	status  atomic.Int32
}

// setup runs a whole standalone worker with its console, a user ada, a receiver for customer
// events (status as set), a hostile one for orders and a gone one (410) for invoices.
func setup(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{}
	f.status.Store(http.StatusUnprocessableEntity)
	erp := workertest.NewReceiver(t, func(int, *http.Request) int { return int(f.status.Load()) })
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = fmt.Fprint(w, evilBody)
	}))
	t.Cleanup(evil.Close)
	gone := workertest.NewReceiver(t, func(int, *http.Request) int { return http.StatusGone })
	cfg := workertest.ConfigOf(
		[]string{workertest.DefinitionYAML("erp", erp.URL, ""), workertest.DefinitionYAML("shop", evil.URL, ""),
			workertest.DefinitionYAML("legacy", gone.URL, "")},
		[]string{workertest.RuleYAML("customer-changes", "customer", "erp"), workertest.RuleYAML("orders", "order", "shop"),
			workertest.RuleYAML("invoices", "invoice", "legacy")})

	users := filepath.Join(t.TempDir(), "users")
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(users, []byte(user+":"+string(h)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.e = workertest.Setup(t, cfg, func(o *worker.Options) {
		o.ConsoleAddr = "127.0.0.1:0"
		o.ConsoleUsers = users
	})
	f.console = "http://" + f.e.W.ConsoleAddr()
	return f
}

func (f *fixture) audit(t *testing.T) []storage.AuditEntry {
	t.Helper()
	a, ok := f.e.Store.(auditor)
	if !ok {
		t.Fatalf("store %T cannot list the audit", f.e.Store)
	}
	entries, err := a.ListAudit(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// do runs browser steps, and fails the test with the page's address and text when one fails.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	start := time.Now()
	if err := chromedp.Do(ctx, steps...); err != nil {
		failAt(t, ctx, what, err)
	}
	t.Logf("%s: %s", what, time.Since(start).Round(time.Millisecond))
}

// goTo runs steps that make the browser load another page (a click on a link, a submitted
// form) and waits until that page has loaded; it returns the page's HTTP status.
func goTo(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) int64 {
	t.Helper()
	start := time.Now()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		failAt(t, ctx, what, err)
	}
	t.Logf("%s: %s", what, time.Since(start).Round(time.Millisecond))
	return resp.Status
}

// get runs one browser action that returns a value.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		failAt(t, ctx, what, err)
	}
	return v
}

func failAt(t *testing.T, ctx context.Context, what string, err error) {
	t.Helper()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	t.Fatalf("%s: %v\nat %s:\n%s", what, err, loc, body)
}

// text is the text of the first element a CSS selector finds.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return get(t, ctx, "read "+sel, chromedp.Text(chromedp.CSS(sel)))
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	return get(t, ctx, "read the location", chromedp.Location())
}

func noScriptRan(t *testing.T, ctx context.Context, w *watch, where string) {
	t.Helper()
	xss := get(t, ctx, "read window.__xss", chromedp.Evaluate[string](`String(window.__xss)`))
	if xss != "undefined" || w.dialogs.Load() != 0 {
		t.Errorf("%s: script ran: window.__xss = %s, %d dialogs", where, xss, w.dialogs.Load())
	}
}

// screenshot saves the whole page, 1280 pixels wide, to docs/name when WEBHOOKD_SCREENSHOTS is
// set; and, for a look at a narrow window, 420 pixels wide to the temporary directory.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("WEBHOOKD_SCREENSHOTS") == "" {
		return
	}
	save := func(path string, png []byte) {
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", path)
	}
	save(filepath.Join("..", "..", "docs", name), get(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100)))
	do(t, ctx, "narrow the window", chromedp.EmulateViewport(420, 800))
	save(filepath.Join(os.TempDir(), "narrow-"+name), get(t, ctx, "screenshot narrow "+name, chromedp.FullScreenshot(100)))
	do(t, ctx, "widen the window", chromedp.EmulateViewport(1280, 800))
}

// peek saves what the browser shows to the temporary directory when WEBHOOKD_SCREENSHOTS is
// set, for a look at the screens the documentation does not show.
func peek(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("WEBHOOKD_SCREENSHOTS") == "" {
		return
	}
	path := filepath.Join(os.TempDir(), "console-"+name+".png")
	if err := os.WriteFile(path, get(t, ctx, "screenshot "+name, chromedp.CaptureScreenshot()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

// TestConsoleInABrowser walks the product description's screens as an operator does.
func TestConsoleInABrowser(t *testing.T) {
	f := setup(t)
	// Six customer deliveries the receiver rejects (422), one order to the hostile receiver.
	for i := range 6 {
		f.e.Publish(workertest.Event{ID: fmt.Sprintf("ev-c%d", i), Entity: "customer", EntityID: fmt.Sprintf("C-10%02d", i),
			Action: "updated", Actor: "jdoe", Data: map[string]any{"name": "Ada <b>Lovelace</b>", "status": "active"}})
	}
	f.e.Publish(workertest.Event{ID: "ev-o1", Entity: "order", EntityID: evilEntityID, Action: "created", Data: map[string]any{"total": 42}})
	f.e.WaitRequests(6, storage.Filter{State: storage.StateRejected})
	evil := f.e.WaitRequests(1, storage.Filter{Entity: "order"})[0]

	ctx, tab := browser(t)

	// Sign in: every page asks first.
	do(t, ctx, "open the console", chromedp.Navigate(f.console+"/"), chromedp.WaitVisible(chromedp.CSS(`#user`)))
	if !strings.Contains(location(t, ctx), "/sign-in") {
		t.Fatalf("not sent to sign in: %s", location(t, ctx))
	}
	if status := goTo(t, ctx, "sign in with a wrong password",
		chromedp.SendKeys(chromedp.CSS(`#user`), user),
		chromedp.SendKeys(chromedp.CSS(`#password`), "wrong"),
		chromedp.Submit(chromedp.CSS(`#password`))); status != http.StatusUnauthorized {
		t.Errorf("a wrong password: status %d, want 401", status)
	}
	if got := text(t, ctx, "#signin-error"); !strings.Contains(got, "Wrong user name or password") {
		t.Errorf("sign-in error %q", got)
	}
	// The page comes back with the user name kept and the password empty.
	goTo(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Submit(chromedp.CSS(`#password`)))
	do(t, ctx, "the summary page", chromedp.WaitVisible(chromedp.CSS(`#requests`)))
	if h := text(t, ctx, "h1"); h != "Manage webhook requests" {
		t.Errorf("summary heading %q", h)
	}
	noScriptRan(t, ctx, tab, "summary page with a hostile entity id")

	// Search: the rejected customer requests; the search is in the URL.
	goTo(t, ctx, "search",
		chromedp.SetValue(chromedp.CSS(`#f-state`), "rejected"),
		chromedp.SendKeys(chromedp.CSS(`#f-entity`), "customer"),
		chromedp.Click(chromedp.CSS(`form.search button[type=submit]`)))
	loc := location(t, ctx)
	if !strings.Contains(loc, "state=rejected") || !strings.Contains(loc, "entity=customer") {
		t.Errorf("the search is not in the URL: %s", loc)
	}
	rows := get(t, ctx, "count rows", chromedp.Evaluate[int](`document.querySelectorAll("#requests tbody tr").length`))
	if rows != 6 || text(t, ctx, "#count-rejected") != "6" || text(t, ctx, "#count-successful") != "0" {
		t.Fatalf("%d rows, counts %s rejected / %s successful; want 6 rejected", rows, text(t, ctx, "#count-rejected"), text(t, ctx, "#count-successful"))
	}
	searchURL := loc
	screenshot(t, ctx, "console-summary.png")

	// Open the newest request: its data entry page, rejected in colour and words.
	first := text(t, ctx, "#requests tbody tr td.num a")
	firstEntity := text(t, ctx, "#requests tbody tr td.mono")
	goTo(t, ctx, "open the first request", chromedp.Click(chromedp.CSS(`#requests tbody tr td.num a`)))
	if h := text(t, ctx, "h1"); !strings.Contains(h, first) || !strings.Contains(h, "rejected") {
		t.Errorf("request heading %q, want %s and rejected", h, first)
	}
	if body := text(t, ctx, "#request-body"); !strings.Contains(body, `"entity_id": "`+firstEntity+`"`) || !strings.Contains(body, `"name": "Ada \u003cb\u003eLovelace\u003c/b\u003e"`) {
		t.Errorf("request body, indented, as text: %q", body)
	}
	screenshot(t, ctx, "console-request.png")

	// ACTIONS > RESEND, with the keyboard: the receiver accepts it now.
	f.status.Store(http.StatusOK)
	do(t, ctx, "open ACTIONS with the keyboard",
		chromedp.Focus(chromedp.CSS(`#actions-menu summary`)),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.CSS(`#resend`)))
	goTo(t, ctx, "ACTIONS > RESEND", chromedp.Focus(chromedp.CSS(`#resend`)), chromedp.KeyEvent("\r"))
	if msg := text(t, ctx, ".flash-ok"); !strings.Contains(msg, "RESEND successful") {
		t.Fatalf("resend outcome %q", msg)
	}
	newNumber := text(t, ctx, ".flash-ok a")
	if !strings.HasSuffix(location(t, ctx), "/requests/"+newNumber) || newNumber == first {
		t.Errorf("after the resend at %s, link to %q (resent %s)", location(t, ctx), newNumber, first)
	}
	if h := text(t, ctx, "h1"); !strings.Contains(h, "successful") {
		t.Errorf("the new request's heading %q", h)
	}

	// ACTIONS > DELETE asks Yes/No; No keeps it, Yes deletes it.
	do(t, ctx, "ACTIONS > DELETE, No",
		chromedp.Click(chromedp.CSS(`#actions-menu summary`)),
		chromedp.Click(chromedp.CSS(`#delete`)),
		chromedp.WaitVisible(chromedp.CSS(`#delete-dialog`)),
		chromedp.Click(chromedp.CSS(`#delete-dialog button[data-close]`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#delete-dialog`)))
	do(t, ctx, "ACTIONS > DELETE",
		chromedp.Click(chromedp.CSS(`#actions-menu summary`)),
		chromedp.Click(chromedp.CSS(`#delete`)),
		chromedp.WaitVisible(chromedp.CSS(`#delete-dialog`)))
	peek(t, ctx, "delete-dialog")
	goTo(t, ctx, "Yes", chromedp.Click(chromedp.CSS(`#delete-dialog button[type=submit]`)))
	if msg := text(t, ctx, ".flash-ok"); !strings.Contains(msg, newNumber+" deleted") {
		t.Errorf("delete outcome %q", msg)
	}

	// Several at once from the summary page: two checked rows, ACTIONS > DELETE, Save.
	do(t, ctx, "check two rows and delete them",
		chromedp.Navigate(searchURL),
		chromedp.WaitVisible(chromedp.CSS(`#requests`)),
		chromedp.Click(chromedp.CSS(`#requests tbody tr:nth-child(1) input.row-check`)),
		chromedp.Click(chromedp.CSS(`#requests tbody tr:nth-child(2) input.row-check`)),
		chromedp.Click(chromedp.CSS(`#actions-menu summary`)),
		chromedp.Click(chromedp.CSS(`button[data-dialog=bulk-delete]`)),
		chromedp.WaitVisible(chromedp.CSS(`#bulk-delete`)))
	peek(t, ctx, "bulk-delete-dialog")
	if n := text(t, ctx, "#bulk-delete [data-count]"); n != "2" {
		t.Errorf("the dialog says %s checked, want 2", n)
	}
	save := text(t, ctx, "#bulk-delete button[type=submit]")
	goTo(t, ctx, "Save", chromedp.Click(chromedp.CSS(`#bulk-delete button[type=submit]`)))
	if save != "Save" {
		t.Errorf("the dialog's button says %q, want Save", save)
	}
	if msg := text(t, ctx, ".flash-ok"); !strings.Contains(msg, "Deleted 2 webhook requests") {
		t.Errorf("bulk delete outcome %q", msg)
	}
	if text(t, ctx, "#count-rejected") != "3" {
		t.Errorf("%s rejected left, want 3", text(t, ctx, "#count-rejected"))
	}

	// RESEND every rejected request that matches the search: a job that shows its progress.
	do(t, ctx, "ACTIONS > RESEND",
		chromedp.Click(chromedp.CSS(`#actions-menu summary`)),
		chromedp.Click(chromedp.CSS(`button[data-dialog=bulk-resend]`)),
		chromedp.WaitVisible(chromedp.CSS(`#bulk-resend`)),
		chromedp.Click(chromedp.CSS(`#bulk-resend input[value=filter]`)))
	goTo(t, ctx, "Save", chromedp.Click(chromedp.CSS(`#bulk-resend button[type=submit]`)))
	// The page follows the job and reloads itself once the job is done.
	do(t, ctx, "wait for the job's result", chromedp.WaitVisible(chromedp.CSS(`#job-result`)))
	peek(t, ctx, "job")
	if got := text(t, ctx, "#job-result .tile-ok .tile-n"); got != "3" {
		t.Errorf("the job says %s successful, want 3:\n%s", got, text(t, ctx, "#job"))
	}

	// The hostile receiver's answer is text on the page, and nothing of it runs.
	do(t, ctx, "open the hostile receiver's request",
		chromedp.Navigate(f.console+"/requests/"+evil.Number),
		chromedp.WaitVisible(chromedp.CSS(`#response-body`)))
	if body := text(t, ctx, "#response-body"); body != evilBody {
		t.Errorf("response body shown as %q, want the text %q", body, evilBody)
	}
	noScriptRan(t, ctx, tab, "data entry page of a hostile response")
	do(t, ctx, "the summary with the hostile entity id", chromedp.Navigate(f.console+"/?entity=order"), chromedp.WaitVisible(chromedp.CSS(`#requests`)))
	if got := text(t, ctx, "#requests tbody td.mono"); got != evilEntityID {
		t.Errorf("entity id shown as %q", got)
	}
	noScriptRan(t, ctx, tab, "summary with a hostile entity id")

	// A definition that endpoint health deactivated (its receiver answered 410) says why and
	// since when, and is reactivated from the page.
	f.e.Publish(workertest.Event{ID: "ev-i1", Entity: "invoice", EntityID: "I-1", Action: "created", Data: map[string]any{}})
	testutil.Eventually(t, 20*time.Second, "legacy deactivated by its 410", func() bool {
		d, err := f.e.Store.GetDefinition(context.Background(), "legacy")
		return err == nil && !d.Active
	})
	do(t, ctx, "the definitions", chromedp.Navigate(f.console+"/definitions"), chromedp.WaitVisible(chromedp.CSS(`#def-legacy .deactivated`)))
	peek(t, ctx, "definitions")
	if got := text(t, ctx, "#def-legacy .deactivated"); !strings.Contains(got, "Deactivated by endpoint health since") || !strings.Contains(got, "410") {
		t.Errorf("the deactivated definition says %q", got)
	}
	if got := get(t, ctx, "the page's text", chromedp.Evaluate[string](`document.body.innerText`)); strings.Contains(got, workertest.Secret) {
		t.Error("a secret key is on the definitions page")
	}
	goTo(t, ctx, "Reactivate", chromedp.Click(chromedp.CSS(`#def-legacy .deactivated button`)))
	if got := text(t, ctx, ".flash-ok"); !strings.Contains(got, "legacy is active again") {
		t.Errorf("after the reactivation: %q", got)
	}
	if d, err := f.e.Store.GetDefinition(context.Background(), "legacy"); err != nil || !d.Active || d.UpdatedBy != user {
		t.Errorf("legacy after the reactivation: %+v, %v", d, err)
	}

	// Every resend and delete is audited with the signed-in user's name.
	var resends, deletes int
	for _, a := range f.audit(t) {
		switch a.Command {
		case "requests.resend":
			resends++
		case "requests.delete":
			deletes++
		case "config.apply":
		default:
			continue
		}
		if a.User != user || !a.OK {
			t.Errorf("audit entry %+v: want ok, by %s", a, user)
		}
	}
	if resends != 2 || deletes != 2 {
		t.Errorf("audit: %d resends and %d deletes, want 2 and 2", resends, deletes)
	}

	// No page had a script error, or anything the Content-Security-Policy refused.
	if errs := tab.consoleErrors(); len(errs) > 0 {
		t.Errorf("the browser's console:\n%s", strings.Join(errs, "\n"))
	}

	// Sign out: the console asks to sign in again.
	goTo(t, ctx, "sign out", chromedp.Click(chromedp.CSS(`form.signout button`)))
	do(t, ctx, "the console once signed out", chromedp.Navigate(f.console+"/"), chromedp.WaitVisible(chromedp.CSS(`#user`)))
}

// TestCrossSiteFormPostIsRefused: a page on another site that posts a form to the console,
// while the operator is signed in, changes nothing.
func TestCrossSiteFormPostIsRefused(t *testing.T) {
	f := setup(t)
	f.e.Publish(workertest.Event{ID: "ev-x", Entity: "customer", EntityID: "C-1", Action: "updated", Data: map[string]any{}})
	target := f.e.WaitRequests(1, storage.Filter{})[0]

	// The other site is the same machine by another name (localhost, not 127.0.0.1): another
	// site to the browser. Its page posts a form to the console at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	other := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s/requests/%s/delete"></form>
<script>document.getElementById("f").submit()</script>`, f.console, target.Number)
	})}}
	other.Start()
	t.Cleanup(other.Close)
	_, port, _ := net.SplitHostPort(ln.Addr().String())

	ctx, _ := browser(t)
	do(t, ctx, "sign in",
		chromedp.Navigate(f.console+"/sign-in"),
		chromedp.WaitVisible(chromedp.CSS(`#user`)),
		chromedp.SendKeys(chromedp.CSS(`#user`), user),
		chromedp.SendKeys(chromedp.CSS(`#password`), password),
		chromedp.Submit(chromedp.CSS(`#password`)),
		chromedp.WaitVisible(chromedp.CSS(`#requests`)))
	do(t, ctx, "visit the other site",
		chromedp.Navigate("http://localhost:"+port+"/"),
		chromedp.WaitVisible(chromedp.CSS(`main h1`)))
	if h := text(t, ctx, "main h1"); h != "Refused" {
		t.Errorf("the cross-site post was answered with %q, want the refusal", h)
	}
	if _, err := f.e.Store.ListRequests(context.Background(), storage.ListQuery{Filter: storage.Filter{EventID: "ev-x"}, Limit: 1}); err != nil {
		t.Fatal(err)
	}
	if got := f.e.Requests(storage.Filter{EventID: "ev-x"}); len(got) != 1 {
		t.Errorf("the request was deleted by a cross-site post")
	}
	for _, a := range f.audit(t) {
		if a.Command == "requests.delete" {
			t.Errorf("a delete reached the control plane: %+v", a)
		}
	}
	// The operator is still signed in, and the console works.
	do(t, ctx, "back to the console", chromedp.Navigate(f.console+"/"), chromedp.WaitVisible(chromedp.CSS(`#requests`)))
}
