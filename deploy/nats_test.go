package deploy

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/webhookd/webhookd/internal/natstest"
	"github.com/webhookd/webhookd/publisher"
)

var natsPasswords = map[string]string{
	"publisher": "publisher-test-password",
	"operator":  "operator-test-password",
	"viewer":    "viewer-test-password",
	"webhookd":  "webhookd-test-password",
}

// startComposeNATS runs a real nats-server with deploy/nats/nats.conf, as the compose file
// does, on natstest's random loopback port with its JetStream files in a temporary directory.
func startComposeNATS(t *testing.T) *server.Server {
	t.Helper()
	setNATSPasswords(t)
	fromFile, err := server.ProcessConfigFile(filepath.Join(repoRoot, "deploy/nats/nats.conf"))
	if err != nil {
		t.Fatalf("deploy/nats/nats.conf: %v", err)
	}
	if !fromFile.JetStream {
		t.Fatal("nats.conf does not enable JetStream")
	}
	return natstest.Server(t, func(o *server.Options) {
		// Everything from the file (users, permissions, limits) but where it listens and stores,
		// and without its monitoring port.
		host, port, storeDir := o.Host, o.Port, o.StoreDir
		*o = *fromFile
		o.Host, o.Port, o.StoreDir = host, port, storeDir
		o.HTTPHost, o.HTTPPort = "", 0
		o.NoSigs, o.NoLog = true, true
	})
}

// setNATSPasswords gives the environment the passwords users.conf reads.
func setNATSPasswords(t *testing.T) {
	t.Setenv("NATS_PUBLISHER_PASSWORD", natsPasswords["publisher"])
	t.Setenv("NATS_OPERATOR_PASSWORD", natsPasswords["operator"])
	t.Setenv("NATS_VIEWER_PASSWORD", natsPasswords["viewer"])
	t.Setenv("NATS_WEBHOOKD_PASSWORD", natsPasswords["webhookd"])
}

// natsUser is a connection as one of nats.conf's users, collecting the asynchronous errors
// (permission violations) the server sends it.
type natsUser struct {
	name string
	nc   *nats.Conn
	errs chan error
}

// inboxPrefix is each role's own reply-subject prefix in nats.conf (--nats-inbox-prefix).
func inboxPrefix(user string) string { return "_INBOX_" + user }

func connectAs(t *testing.T, url, user string) *natsUser {
	t.Helper()
	u := &natsUser{name: user, errs: make(chan error, 64)}
	nc, err := nats.Connect(url, nats.UserInfo(user, natsPasswords[user]), nats.Name("deploy-test-"+user),
		publisher.InboxPrefix(inboxPrefix(user)),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			select {
			case u.errs <- err:
			default:
			}
		}))
	if err != nil {
		t.Fatalf("connect as %s: %v", user, err)
	}
	t.Cleanup(nc.Close)
	u.nc = nc
	return u
}

// expectDenied waits (with a deadline) for the server to refuse what the user just did.
func (u *natsUser) expectDenied(t *testing.T, what string) {
	t.Helper()
	if err := u.nc.Flush(); err != nil && !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
		t.Fatalf("%s: flush: %v", u.name, err)
	}
	select {
	case err := <-u.errs:
		if !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
			t.Fatalf("%s %s: error %v, want a permissions violation", u.name, what, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s may %s, but its role must not", u.name, what)
	}
}

// expectNoErrors checks that nothing the user did so far was refused.
func (u *natsUser) expectNoErrors(t *testing.T) {
	t.Helper()
	if err := u.nc.Flush(); err != nil {
		t.Fatalf("%s: flush: %v", u.name, err)
	}
	select {
	case err := <-u.errs:
		t.Fatalf("%s: %v", u.name, err)
	default:
	}
}

// TestNATSPermissionsAllowEachRole walks through what each user does in the real system with
// the compose NATS configuration: webhookd creates its streams and consumers, the publisher
// publishes an event with a JetStream ack, webhookd fetches and acks it and queues a retry on
// its own stream, an operator's control request gets webhookd's reply, and a notice reaches the
// operator.
func TestNATSPermissionsAllowEachRole(t *testing.T) {
	s := startComposeNATS(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	worker, publisher, operator := connectAs(t, s.ClientURL(), "webhookd"), connectAs(t, s.ClientURL(), "publisher"), connectAs(t, s.ClientURL(), "operator")

	wjs, err := jetstream.New(worker.nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wjs.CreateStream(ctx, jetstream.StreamConfig{Name: "CRM_EVENTS", Subjects: []string{"crm.events.>"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatalf("webhookd creates CRM_EVENTS: %v", err)
	}
	if _, err := wjs.CreateStream(ctx, jetstream.StreamConfig{Name: "WEBHOOKD_DELIVERIES", Subjects: []string{"webhookd.deliveries.*"}, Storage: jetstream.FileStorage}); err != nil {
		t.Fatalf("webhookd creates its delivery stream: %v", err)
	}
	cons, err := wjs.CreateOrUpdateConsumer(ctx, "CRM_EVENTS", jetstream.ConsumerConfig{Durable: "webhookd-events", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatalf("webhookd creates its consumer: %v", err)
	}

	pjs, err := jetstream.New(publisher.nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pjs.Stream(ctx, "CRM_EVENTS"); err != nil {
		t.Fatalf("publisher looks up CRM_EVENTS: %v", err)
	}
	ack, err := pjs.Publish(ctx, "crm.events.customer.updated", []byte(`{"id":"e1"}`), jetstream.WithMsgID("e1"))
	if err != nil {
		t.Fatalf("publisher publishes an event: %v", err)
	}
	if ack.Stream != "CRM_EVENTS" {
		t.Fatalf("event stored in %s", ack.Stream)
	}

	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatalf("webhookd fetches: %v", err)
	}
	var got int
	for msg := range batch.Messages() {
		got++
		if err := msg.DoubleAck(ctx); err != nil {
			t.Fatalf("webhookd acks: %v", err)
		}
	}
	if got != 1 || batch.Error() != nil {
		t.Fatalf("webhookd fetched %d messages (%v), want 1", got, batch.Error())
	}
	if _, err := wjs.Publish(ctx, "webhookd.deliveries.erp-sync", []byte(`{}`)); err != nil {
		t.Fatalf("webhookd queues a delivery: %v", err)
	}

	// Control: webhookd answers in its queue group, the operator gets the reply.
	sub, err := worker.nc.QueueSubscribe("crm.webhooks.control.>", "webhookd", func(m *nats.Msg) {
		_ = m.Respond([]byte(`{"ok":true,"result":{"items":[],"next":""}}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	worker.expectNoErrors(t)
	reply, err := operator.nc.RequestWithContext(ctx, "crm.webhooks.control.requests.list", []byte(`{}`))
	if err != nil {
		t.Fatalf("operator's control request: %v", err)
	}
	if !strings.Contains(string(reply.Data), `"ok":true`) {
		t.Fatalf("control reply %s", reply.Data)
	}

	// A read-only operator lists and gets.
	viewer := connectAs(t, s.ClientURL(), "viewer")
	for _, cmd := range []string{"requests.list", "requests.get", "definitions.list", "rules.get"} {
		if _, err := viewer.nc.RequestWithContext(ctx, "crm.webhooks.control."+cmd, []byte(`{}`)); err != nil {
			t.Fatalf("viewer's %s: %v", cmd, err)
		}
	}
	viewer.expectNoErrors(t)

	// Notices: webhookd announces, the operator listens.
	notices, err := operator.nc.SubscribeSync("crm.webhooks.notices.>")
	if err != nil {
		t.Fatal(err)
	}
	operator.expectNoErrors(t)
	if err := worker.nc.Publish("crm.webhooks.notices.definition_disabled", []byte(`{"id":"erp-sync"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := notices.NextMsgWithContext(ctx); err != nil {
		t.Fatalf("operator receives the notice: %v", err)
	}

	for _, u := range []*natsUser{worker, publisher, operator, viewer} {
		u.expectNoErrors(t)
	}
}

// TestNATSPermissionsDenyOtherRoles: each user is refused what belongs to another role.
func TestNATSPermissionsDenyOtherRoles(t *testing.T) {
	s := startComposeNATS(t)
	tests := []struct {
		user, what string
		do         func(nc *nats.Conn) error
	}{
		{"publisher", "send control commands", func(nc *nats.Conn) error { return nc.Publish("crm.webhooks.control.requests.delete", []byte(`{}`)) }},
		{"publisher", "read the event stream", func(nc *nats.Conn) error { _, err := nc.SubscribeSync("crm.events.>"); return err }},
		{"publisher", "delete the event stream", func(nc *nats.Conn) error { return nc.Publish("$JS.API.STREAM.DELETE.CRM_EVENTS", nil) }},
		{"publisher", "create consumers", func(nc *nats.Conn) error { return nc.Publish("$JS.API.CONSUMER.CREATE.CRM_EVENTS", nil) }},
		{"publisher", "publish webhookd's internal subjects", func(nc *nats.Conn) error { return nc.Publish("webhookd.deliveries.erp-sync", nil) }},
		{"operator", "publish events", func(nc *nats.Conn) error { return nc.Publish("crm.events.customer.updated", []byte(`{}`)) }},
		{"operator", "answer control commands", func(nc *nats.Conn) error {
			_, err := nc.QueueSubscribeSync("crm.webhooks.control.>", "webhookd")
			return err
		}},
		{"operator", "use the JetStream API", func(nc *nats.Conn) error { return nc.Publish("$JS.API.STREAM.DELETE.CRM_EVENTS", nil) }},
		{"operator", "announce notices", func(nc *nats.Conn) error { return nc.Publish("crm.webhooks.notices.definition_disabled", nil) }},
		{"webhookd", "publish events", func(nc *nats.Conn) error { return nc.Publish("crm.events.customer.updated", []byte(`{}`)) }},
		{"webhookd", "send control commands", func(nc *nats.Conn) error { return nc.Publish("crm.webhooks.control.requests.delete", nil) }},
		{"webhookd", "publish into other clients' inboxes unasked", func(nc *nats.Conn) error { return nc.Publish("_INBOX_operator.someone.else", nil) }},
		{"webhookd", "answer control commands outside its queue group", func(nc *nats.Conn) error {
			_, err := nc.SubscribeSync("crm.webhooks.control.>")
			return err
		}},
		{"webhookd", "use the JetStream API of other streams", func(nc *nats.Conn) error { return nc.Publish("$JS.API.STREAM.CREATE.OTHER", nil) }},
		{"webhookd", "delete the event stream", func(nc *nats.Conn) error { return nc.Publish("$JS.API.STREAM.DELETE.CRM_EVENTS", nil) }},
		// No role reads another's replies: control replies, fetched events and deliveries, and
		// publish acks all go to the requester's own prefix.
		{"publisher", "read the default inboxes", func(nc *nats.Conn) error { _, err := nc.SubscribeSync("_INBOX.>"); return err }},
		{"publisher", "read the operators' control replies", func(nc *nats.Conn) error { _, err := nc.SubscribeSync("_INBOX_operator.>"); return err }},
		{"publisher", "read the events and deliveries webhookd fetches", func(nc *nats.Conn) error { _, err := nc.SubscribeSync("_INBOX_webhookd.>"); return err }},
		{"publisher", "read everything", func(nc *nats.Conn) error { _, err := nc.SubscribeSync(">"); return err }},
		{"operator", "read the events and deliveries webhookd fetches", func(nc *nats.Conn) error { _, err := nc.SubscribeSync("_INBOX_webhookd.>"); return err }},
		{"operator", "read the publishers' acks", func(nc *nats.Conn) error { _, err := nc.SubscribeSync("_INBOX_publisher.>"); return err }},
		{"viewer", "read the operators' control replies", func(nc *nats.Conn) error { _, err := nc.SubscribeSync("_INBOX_operator.>"); return err }},
		// A read-only operator lists and gets, nothing more.
		{"viewer", "resend", func(nc *nats.Conn) error { return nc.Publish("crm.webhooks.control.requests.resend", []byte(`{}`)) }},
		{"viewer", "delete requests", func(nc *nats.Conn) error { return nc.Publish("crm.webhooks.control.requests.delete", []byte(`{}`)) }},
		{"viewer", "delete definitions", func(nc *nats.Conn) error { return nc.Publish("crm.webhooks.control.definitions.delete", []byte(`{}`)) }},
		{"viewer", "apply configuration", func(nc *nats.Conn) error { return nc.Publish("crm.webhooks.control.config.apply", []byte(`{}`)) }},
		{"viewer", "publish events", func(nc *nats.Conn) error { return nc.Publish("crm.events.customer.updated", []byte(`{}`)) }},
	}
	for _, tt := range tests {
		t.Run(tt.user+" may not "+tt.what, func(t *testing.T) {
			u := connectAs(t, s.ClientURL(), tt.user)
			if err := tt.do(u.nc); err != nil && !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
				t.Fatalf("%v", err)
			}
			u.expectDenied(t, tt.what)
		})
	}

	t.Run("wrong password", func(t *testing.T) {
		nc, err := nats.Connect(s.ClientURL(), nats.UserInfo("webhookd", "not-the-password"))
		if err == nil {
			nc.Close()
			t.Fatal("connected with a wrong password")
		}
		if !errors.Is(err, nats.ErrAuthorization) && !strings.Contains(strings.ToLower(err.Error()), "authorization") {
			t.Fatalf("connect: %v, want an authorization error", err)
		}
	})
}
