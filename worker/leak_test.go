package worker_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/internal/workertest"
	"github.com/webhookd/webhookd/storage"
	"github.com/webhookd/webhookd/storage/sqlite"
	"github.com/webhookd/webhookd/webhook"
	"github.com/webhookd/webhookd/worker"
)

// lockedBuffer is a log sink the worker's goroutines write to at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// secretSet is the known secrets of a run, by name, and what must never be found of them: the
// whole value but its last 4 characters, which a mask may show.
type secretSet map[string]string

func (s secretSet) add(name string) string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	v := fmt.Sprintf("%s%x", strings.ToUpper(name[:2]), b) // 38 characters, unique to this run
	s[name] = v
	return v
}

// leaks returns "<secret name> in <where>" for each secret whose hidden part is in text.
func (s secretSet) leaks(where, text string) []string {
	var out []string
	for name, v := range s {
		if hidden := v[:len(v)-4]; strings.Contains(text, hidden) {
			out = append(out, name+" in "+where)
		}
	}
	return out
}

// TestNoSecretLeaks runs the pipeline and a control session with known secrets (secret keys,
// credential header values, tokens in the URL's query, a Set-Cookie and a token header from the
// receiver, and secrets in refused config.apply requests) and greps every log line, the
// /metrics text, every stored document (through the store and read raw from the SQLite file),
// every audit entry, every file of the data directory and every control reply for them: zero
// hits, while the receiver gets every value as configured. Then every file of the data
// directory is 0600 and every directory 0700.
func TestNoSecretLeaks(t *testing.T) {
	sec := secretSet{}
	key1, err := webhook.GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	key2, _ := webhook.GenerateSecret()
	key3, _ := webhook.GenerateSecret()
	key4, _ := webhook.GenerateSecret()
	for name, k := range map[string]string{"secret_key 1": key1, "secret_key 2": key2, "secret_key 3": key3, "secret_key 4": key4} {
		sec[name] = strings.TrimPrefix(k, webhook.SecretPrefix)
	}
	bearer := sec.add("authorization")
	apiKey := sec.add("x-api-key")
	wat := sec.add("webhook-auth-token")
	urlToken := sec.add("url token")
	urlKey := sec.add("url api_key")
	cookie := sec.add("set-cookie")
	refresh := sec.add("x-refresh-token")
	bearer2 := sec.add("authorization 2")
	urlToken2 := sec.add("url token 2")
	bearer3 := sec.add("authorization 3 (refused apply)")
	urlToken4 := sec.add("url token 4 (invalid apply)")

	// The receiver: 503 for the first request (rejected: one attempt), 200 afterwards; every
	// answer sets a cookie and a token header.
	var n atomic.Int64
	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r.Clone(context.Background())), append(bodies, b)
		mu.Unlock()
		w.Header().Set("Set-Cookie", "sid="+cookie+"; Path=/; HttpOnly")
		w.Header().Set("X-Refresh-Token", refresh)
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rc.Close)
	hookURL := rc.URL + "/hook?token=" + urlToken + "&api_key=" + urlKey + "&page=1"

	cfg := fmt.Sprintf(`webhook_definitions:
  - id: leaky
    name: Leaky
    url: %s
    secret_key: %s
    headers:
      Authorization: "Bearer %s"
      X-Api-Key: %s
      Webhook-Auth-Token: %s
      X-Api-Version: "2"
    retry: {max_attempts: 1}
workflow_rules:
  - id: r1
    name: Rule
    entity: customer
    webhook_definitions: [leaky]
`, hookURL, key1, bearer, apiKey, wat)
	// The configuration file is the operator's, outside the data directory.
	cfgFile := workertest.WriteConfig(t, t.TempDir(), cfg)
	logs := &lockedBuffer{}
	e := workertest.Setup(t, "webhook_definitions: []\n", func(o *worker.Options) {
		o.ConfigFile = cfgFile
		o.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		o.AllowPrivateNets = false
		o.AllowDestinations = []string{"127.0.0.1"} // the receiver, and nothing else
	})
	if err := os.Remove(filepath.Join(e.Dir, "config.yaml")); err != nil {
		t.Fatal(err)
	}

	// The pipeline: one rejected delivery, one successful.
	e.Publish(workertest.Event{ID: "ev-1", Entity: "customer", EntityID: "C-1", Action: "updated", Data: map[string]any{"name": "Ada"}})
	e.WaitRequests(1, storage.Filter{})
	e.Publish(workertest.Event{ID: "ev-2", Entity: "customer", EntityID: "C-2", Action: "updated", Data: map[string]any{"name": "Bo"}})
	e.WaitRequests(2, storage.Filter{})

	// The control session.
	var replies []string
	call := func(cmd, body string) json.RawMessage {
		t.Helper()
		msg, err := e.NC.Request("crm.webhooks.control."+cmd, []byte(body), 30*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		replies = append(replies, cmd+": "+string(msg.Data))
		var env struct {
			OK     bool            `json:"ok"`
			Result json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal(msg.Data, &env); err != nil {
			t.Fatalf("%s reply %s: %v", cmd, msg.Data, err)
		}
		if !env.OK {
			return nil
		}
		return env.Result
	}
	var list struct {
		Items []storage.WebhookRequest `json:"items"`
	}
	if err := json.Unmarshal(call("requests.list", `{}`), &list); err != nil || len(list.Items) != 2 {
		t.Fatalf("requests.list: %d items, %v", len(list.Items), err)
	}
	var rejected string
	for _, wr := range list.Items {
		call("requests.get", `{"number":"`+wr.Number+`"}`)
		if wr.State == storage.StateRejected {
			rejected = wr.Number
		}
	}
	if rejected == "" {
		t.Fatal("no rejected request")
	}
	call("definitions.list", `{}`)
	call("definitions.get", `{"id":"leaky"}`)
	call("rules.list", `{}`)
	if res := call("requests.resend", `{"numbers":["`+rejected+`"],"user":"ann"}`); !strings.Contains(string(res), "successful") {
		t.Fatalf("resend: %s", res)
	}
	// A new secret, header value and URL token, applied and delivered.
	apply := map[string]any{"user": "ann", "webhook_definitions": []map[string]any{{
		"id": "leaky", "name": "Leaky", "url": rc.URL + "/hook?token=" + urlToken2, "secret_key": key2,
		"headers": map[string]string{"Authorization": "Bearer " + bearer2}, "retry": map[string]any{"max_attempts": 1},
	}}}
	b, _ := json.Marshal(apply)
	if res := call("config.apply", string(b)); res == nil {
		t.Fatalf("config.apply refused: %s", replies[len(replies)-1])
	}
	// Refused: a type error (the audit keeps the raw body, masked; keys in other cases), and an
	// invalid document (the audit keeps the decoded one, masked).
	if res := call("config.apply", `{"user":"ann","webhook_definitions":[{"id":"x","SECRET_KEY":"`+key3+
		`","Headers":{"AUTHORIZATION":"Bearer `+bearer3+`"},"active":"yes"}]}`); res != nil {
		t.Fatal("a type error was applied")
	}
	if res := call("config.apply", `{"user":"ann","webhook_definitions":[{"id":"y","name":"Y","Secret_Key":"`+key4+
		`","url":"ftp://h.example/?token=`+urlToken4+`"}]}`); res != nil {
		t.Fatal("an invalid document was applied")
	}
	// The change is in force within the config poll: deliver until the new header is sent.
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		before := n.Load()
		id := fmt.Sprintf("ev-3-%d", i)
		e.Publish(workertest.Event{ID: id, Entity: "customer", EntityID: "C-3", Action: "updated", Data: map[string]any{"name": "Cy"}})
		testutil.Eventually(t, 20*time.Second, "a delivery of "+id, func() bool { return n.Load() > before })
		e.WaitRequests(1, storage.Filter{EventID: id})
		mu.Lock()
		auth := got[len(got)-1].Header.Get("Authorization")
		mu.Unlock()
		if auth == "Bearer "+bearer2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the applied definition is not in force after 20s")
		}
	}
	if err := json.Unmarshal(call("requests.list", `{}`), &list); err != nil || len(list.Items) < 3 {
		t.Fatalf("requests.list: %d items, %v", len(list.Items), err)
	}
	for _, wr := range list.Items {
		call("requests.get", `{"number":"`+wr.Number+`"}`)
	}

	// The receiver got the values as configured.
	mu.Lock()
	first, firstBody := got[0], bodies[0]
	mu.Unlock()
	if first.Header.Get("Authorization") != "Bearer "+bearer || first.Header.Get("X-Api-Key") != apiKey ||
		first.Header.Get("Webhook-Auth-Token") != wat || first.URL.Query().Get("token") != urlToken || first.URL.Query().Get("api_key") != urlKey {
		t.Errorf("the receiver got %v %v", first.Header, first.URL)
	}
	if err := webhook.Verify(key1, first.Header, firstBody, time.Now(), 5*time.Minute); err != nil {
		t.Errorf("signature: %v", err)
	}

	// Now grep everything.
	var found []string
	check := func(where, text string) {
		if text == "" {
			t.Errorf("%s is empty: nothing was checked", where)
		}
		found = append(found, sec.leaks(where, text)...)
	}
	check("the control replies", strings.Join(replies, "\n"))

	resp, err := http.Get("http://" + e.W.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metricsText := readAll(resp)
	if !strings.Contains(metricsText, "webhookd_delivery_attempts_total") {
		t.Fatalf("no delivery metrics:\n%s", metricsText)
	}
	check("/metrics", metricsText)

	st := e.Store.(*sqlite.Store)
	ctx := t.Context()
	reqs, err := st.ListRequests(ctx, storage.ListQuery{Limit: 1000})
	if err != nil || len(reqs) < 3 {
		t.Fatalf("stored requests: %d, %v", len(reqs), err)
	}
	var sawCookie, sawResent bool
	for _, wr := range reqs {
		b, _ := json.Marshal(wr)
		check("stored request "+wr.Number, string(b))
		if wr.Response != nil && wr.Response.Headers["Set-Cookie"] != "" {
			sawCookie = true
		}
		if wr.ResentFrom != "" {
			sawResent = true
		}
	}
	if !sawCookie || !sawResent {
		t.Errorf("no stored Set-Cookie (%v) or resend (%v): the run did not cover them", sawCookie, sawResent)
	}
	audit, err := st.ListAudit(ctx, 100)
	if err != nil || len(audit) < 4 {
		t.Fatalf("audit: %d entries, %v", len(audit), err)
	}
	for _, a := range audit {
		b, _ := json.Marshal(a)
		check("audit entry "+a.Command, string(b))
	}

	// Stop the worker, so its last writes and log lines are in, then read the files raw.
	e.Stop()
	check("the log", logs.String())
	if !strings.Contains(logs.String(), "delivery rejected") || !strings.Contains(logs.String(), "control command") {
		t.Errorf("the log lacks the lines this test means to check:\n%s", logs.String())
	}
	dbPath := filepath.Join(e.Dir, "webhookd.db")
	rawTables(t, dbPath, sec, check)
	err = filepath.WalkDir(e.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(e.Dir, p)
		found = append(found, sec.leaks("file "+rel, string(b))...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) > 0 {
		slices.Sort(found)
		t.Errorf("secrets found:\n  %s", strings.Join(found, "\n  "))
	}

	// Files: the data directory and everything in it private to webhookd's user.
	err = filepath.WalkDir(e.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %o, want %o", p, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rawTables reads every row of every table of the SQLite file at path, raw (each column as
// stored: the definitions' secrets are sealed), and checks each; a compacted copy is then
// checked byte for byte, indexes and all.
func rawTables(t *testing.T, path string, sec secretSet, check func(where, text string)) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		text := dumpTable(t, db, table)
		if text != "" { // an empty table holds nothing to check
			check("table "+table+" (raw rows)", text)
		}
	}

	// The raw bytes, pages and indexes included, of a compacted copy.
	copyPath := filepath.Join(t.TempDir(), "copy.db")
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, copyPath); err != nil {
		t.Fatal(err)
	}
	cp, err := sql.Open("sqlite", copyPath)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	if err := cp.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(copyPath)
	if err != nil {
		t.Fatal(err)
	}
	check("the SQLite file's raw bytes", string(raw))
}

// dumpTable is every column of every row of table, as stored, one row a line.
func dumpTable(t *testing.T, db *sql.DB, table string) string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT * FROM "`+table+`"`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var sb strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			fmt.Fprintf(&sb, "%v\t", v)
		}
		sb.WriteByte('\n')
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return sb.String()
}
