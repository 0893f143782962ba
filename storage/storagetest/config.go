package storagetest

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/storage"
)

// definition returns a definition with every field set, including a disabled state that an apply
// must clear.
func definition(id string) config.Definition {
	disabledAt := t0.Add(-time.Hour)
	return config.Definition{
		ID:        id,
		Name:      "Definition " + id,
		URL:       "https://" + id + ".example.com/hooks?x=1",
		Method:    "PATCH",
		SecretKey: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		Headers:   map[string]string{"X-Api-Version": "2", "Authorization": "Bearer t"},
		FieldsSet: &config.FieldsSet{Name: "basic", Fields: []string{"name", "address.city"}},
		Logging:   config.LoggingRejectedOnly,
		Timeout:   config.Duration(7 * time.Second),
		Retry: config.RetryPolicy{
			MaxAttempts:     4,
			InitialInterval: config.Duration(1500 * time.Millisecond),
			MaxInterval:     config.Duration(90 * time.Minute),
			Multiplier:      2.5,
		},
		MaxInFlight:    3,
		RateLimit:      0.5,
		DisableAfter:   config.Duration(48 * time.Hour),
		Active:         true,
		DisabledReason: "stale",
		DisabledAt:     &disabledAt,
	}
}

func rule(id string, defs ...string) config.Rule {
	return config.Rule{
		ID:                 id,
		Name:               "Rule " + id,
		Entity:             "customer",
		Actions:            []string{"created", "updated"},
		Condition:          `event.data.status == "active" && "status" in event.changed`,
		WebhookDefinitions: defs,
		Active:             true,
	}
}

// applied is d as a store returns it after an apply by user at.
func applied(d config.Definition, user string, at time.Time) config.Definition {
	d.DisabledReason, d.DisabledAt = "", nil
	d.UpdatedAt, d.UpdatedBy = norm(at), user
	return d
}

func appliedRule(r config.Rule, user string, at time.Time) config.Rule {
	r.UpdatedAt, r.UpdatedBy = norm(at), user
	return r
}

func apply(t *testing.T, st Store, defs []config.Definition, rules []config.Rule, user string, at time.Time) {
	t.Helper()
	if err := st.ApplyConfig(ctx(t), defs, rules, user, at); err != nil {
		t.Fatalf("ApplyConfig: %v", err)
	}
}

func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s differs\n got: %s\nwant: %s", what, show(got), show(want))
	}
}

func getDefinition(t *testing.T, st Store, id string) config.Definition {
	t.Helper()
	d, err := st.GetDefinition(ctx(t), id)
	if err != nil {
		t.Fatalf("GetDefinition(%s): %v", id, err)
	}
	return *d
}

func getRule(t *testing.T, st Store, id string) config.Rule {
	t.Helper()
	r, err := st.GetRule(ctx(t), id)
	if err != nil {
		t.Fatalf("GetRule(%s): %v", id, err)
	}
	return *r
}

func version(t *testing.T, st Store) int64 {
	t.Helper()
	v, err := st.ConfigVersion(ctx(t))
	if err != nil {
		t.Fatalf("ConfigVersion: %v", err)
	}
	return v
}

func (s *suite) testConfigApply(t *testing.T) {
	st := s.open(t)
	if defs, err := st.ListDefinitions(ctx(t)); err != nil || len(defs) != 0 {
		t.Fatalf("ListDefinitions(empty store) = %v, %v", defs, err)
	}
	if rules, err := st.ListRules(ctx(t)); err != nil || len(rules) != 0 {
		t.Fatalf("ListRules(empty store) = %v, %v", rules, err)
	}
	da, db := definition("def-a"), definition("def-b")
	db.Headers, db.FieldsSet, db.Active = nil, nil, false // an apply keeps what it is given
	r1, r2 := rule("rule-2", "def-a", "def-b"), rule("rule-1", "def-b")
	r2.Actions, r2.Condition = []string{}, ""
	apply(t, st, []config.Definition{db, da}, []config.Rule{r1, r2}, "alice", t0)

	defs, err := st.ListDefinitions(ctx(t))
	if err != nil {
		t.Fatalf("ListDefinitions: %v", err)
	}
	equal(t, "ListDefinitions", defs, []config.Definition{applied(da, "alice", t0), applied(db, "alice", t0)})
	for _, d := range defs {
		checkUTC(t, "definition "+d.ID, d.UpdatedAt)
	}
	equal(t, "GetDefinition", getDefinition(t, st, "def-a"), applied(da, "alice", t0))
	_, err = st.GetDefinition(ctx(t), "def-x")
	wantErr(t, "GetDefinition(unknown)", err, storage.ErrNotFound)

	rules, err := st.ListRules(ctx(t))
	if err != nil {
		t.Fatalf("ListRules: %v", err)
	}
	equal(t, "ListRules", rules, []config.Rule{appliedRule(r2, "alice", t0), appliedRule(r1, "alice", t0)})
	equal(t, "GetRule", getRule(t, st, "rule-2"), appliedRule(r1, "alice", t0))
	_, err = st.GetRule(ctx(t), "rule-x")
	wantErr(t, "GetRule(unknown)", err, storage.ErrNotFound)

	// Upsert: replaced whole, by id; the others stay.
	at2 := t0.Add(time.Hour)
	da2 := definition("def-a")
	da2.URL, da2.Headers = "https://new.example.com/", nil
	r1b := rule("rule-2", "def-a")
	apply(t, st, []config.Definition{da2}, []config.Rule{r1b}, "bob", at2)
	equal(t, "GetDefinition after an upsert", getDefinition(t, st, "def-a"), applied(da2, "bob", at2))
	equal(t, "GetDefinition of another", getDefinition(t, st, "def-b"), applied(db, "alice", t0))
	equal(t, "GetRule after an upsert", getRule(t, st, "rule-2"), appliedRule(r1b, "bob", at2))

	// Deletes.
	if err := st.DeleteRule(ctx(t), "rule-1"); err != nil {
		t.Fatalf("DeleteRule: %v", err)
	}
	wantErr(t, "DeleteRule(deleted)", st.DeleteRule(ctx(t), "rule-1"), storage.ErrNotFound)
	_, err = st.GetRule(ctx(t), "rule-1")
	wantErr(t, "GetRule(deleted)", err, storage.ErrNotFound)
	if err := st.DeleteDefinition(ctx(t), "def-b"); err != nil {
		t.Fatalf("DeleteDefinition(def-b, no longer named): %v", err)
	}
	wantErr(t, "DeleteDefinition(deleted)", st.DeleteDefinition(ctx(t), "def-b"), storage.ErrNotFound)
	_, err = st.GetDefinition(ctx(t), "def-b")
	wantErr(t, "GetDefinition(deleted)", err, storage.ErrNotFound)
	defs, err = st.ListDefinitions(ctx(t))
	if err != nil || len(defs) != 1 || defs[0].ID != "def-a" {
		t.Errorf("ListDefinitions after delete = %v, %v; want def-a only", defs, err)
	}
}

func (s *suite) testConfigDefinitionInUse(t *testing.T) {
	st := s.open(t)
	apply(t, st, []config.Definition{definition("def-a"), definition("def-b"), definition("def-ab")},
		[]config.Rule{rule("rule-1", "def-b", "def-a")}, "alice", t0)
	err := st.DeleteDefinition(ctx(t), "def-a")
	wantErr(t, "DeleteDefinition(named by a rule)", err, storage.ErrDefinitionInUse)
	if !strings.Contains(err.Error(), "rule-1") {
		t.Errorf("DeleteDefinition(in use) error %q does not name the rule", err)
	}
	if _, err := st.GetDefinition(ctx(t), "def-a"); err != nil {
		t.Errorf("GetDefinition(in use, not deleted): %v", err)
	}
	// Only whole ids count: def-ab is not named.
	if err := st.DeleteDefinition(ctx(t), "def-ab"); err != nil {
		t.Errorf("DeleteDefinition(not named): %v", err)
	}
	wantErr(t, "DeleteDefinition(unknown)", st.DeleteDefinition(ctx(t), "def-x"), storage.ErrNotFound)
	if err := st.DeleteRule(ctx(t), "rule-1"); err != nil {
		t.Fatalf("DeleteRule: %v", err)
	}
	if err := st.DeleteDefinition(ctx(t), "def-a"); err != nil {
		t.Errorf("DeleteDefinition(no longer named): %v", err)
	}
}

func (s *suite) testConfigDisable(t *testing.T) {
	st := s.open(t)
	d := definition("def-a")
	apply(t, st, []config.Definition{d}, nil, "alice", t0)
	if _, err := st.RecordFailures(ctx(t), "def-a", 25, t0); err != nil {
		t.Fatalf("RecordFailures: %v", err)
	}
	v0 := version(t, st)
	at := t0.Add(72 * time.Hour)
	changed, err := st.DisableDefinition(ctx(t), "def-a", "410 Gone", at)
	if err != nil || !changed {
		t.Fatalf("DisableDefinition = %v, %v; want true", changed, err)
	}
	v1 := version(t, st)
	if v1 == v0 {
		t.Errorf("config version stayed %d after DisableDefinition", v0)
	}
	got := getDefinition(t, st, "def-a")
	w := applied(d, "alice", t0)
	wantAt := norm(at)
	w.Active, w.DisabledReason, w.DisabledAt = false, "410 Gone", &wantAt
	equal(t, "disabled definition", got, w)
	if got.DisabledAt != nil {
		checkUTC(t, "disabled_at", *got.DisabledAt)
	}
	changed, err = st.DisableDefinition(ctx(t), "def-a", "again", at.Add(time.Hour))
	if err != nil || changed {
		t.Errorf("DisableDefinition(inactive) = %v, %v; want false", changed, err)
	}
	changed, err = st.DisableDefinition(ctx(t), "def-x", "gone", at)
	if err != nil || changed {
		t.Errorf("DisableDefinition(unknown) = %v, %v; want false", changed, err)
	}
	equal(t, "disabled definition after a second disable", getDefinition(t, st, "def-a"), w)

	// An apply re-activates it and clears its health.
	at2 := at.Add(time.Hour)
	apply(t, st, []config.Definition{d}, nil, "bob", at2)
	equal(t, "re-applied definition", getDefinition(t, st, "def-a"), applied(d, "bob", at2))
	h, err := st.RecordFailures(ctx(t), "def-a", 1, at2)
	if err != nil {
		t.Fatalf("RecordFailures: %v", err)
	}
	equal(t, "health after an apply", h, storage.DefinitionHealth{ID: "def-a", FailingSince: norm(at2), Failures: 1})
}

func (s *suite) testConfigVersion(t *testing.T) {
	st := s.open(t)
	seen := map[int64]string{version(t, st): "start"}
	step := func(what string, fn func() error) {
		t.Helper()
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		v := version(t, st)
		if prev, ok := seen[v]; ok {
			t.Errorf("config version %d after %s is the one after %s", v, what, prev)
		}
		seen[v] = what
	}
	c := ctx(t)
	step("apply", func() error {
		return st.ApplyConfig(c, []config.Definition{definition("def-a"), definition("def-b")}, []config.Rule{rule("rule-1", "def-a")}, "alice", t0)
	})
	step("apply again", func() error {
		return st.ApplyConfig(c, []config.Definition{definition("def-a")}, nil, "alice", t0)
	})
	step("disable", func() error {
		_, err := st.DisableDefinition(c, "def-a", "gone", t0)
		return err
	})
	step("delete rule", func() error { return st.DeleteRule(c, "rule-1") })
	step("delete definition", func() error { return st.DeleteDefinition(c, "def-b") })
	// Health is not configuration.
	v := version(t, st)
	if _, err := st.RecordFailures(c, "def-a", 3, t0); err != nil {
		t.Fatalf("RecordFailures: %v", err)
	}
	if err := st.ClearFailures(c, "def-a"); err != nil {
		t.Fatalf("ClearFailures: %v", err)
	}
	if v2 := version(t, st); v2 != v {
		t.Errorf("config version changed from %d to %d on health updates", v, v2)
	}
}

func (s *suite) testHealth(t *testing.T) {
	st := s.open(t)
	t1, t2, t3 := t0, t0.Add(time.Hour), t0.Add(2*time.Hour)
	record := func(id string, n int64, at time.Time, want storage.DefinitionHealth) {
		t.Helper()
		h, err := st.RecordFailures(ctx(t), id, n, at)
		if err != nil {
			t.Fatalf("RecordFailures(%s, %d): %v", id, n, err)
		}
		checkUTC(t, "failing_since", h.FailingSince)
		equal(t, "health", h, want)
	}
	record("def-a", 3, t1, storage.DefinitionHealth{ID: "def-a", FailingSince: norm(t1), Failures: 3})
	record("def-a", 2, t2, storage.DefinitionHealth{ID: "def-a", FailingSince: norm(t1), Failures: 5})
	record("def-b", 1, t2, storage.DefinitionHealth{ID: "def-b", FailingSince: norm(t2), Failures: 1})
	if err := st.ClearFailures(ctx(t), "def-a"); err != nil {
		t.Fatalf("ClearFailures: %v", err)
	}
	record("def-a", 1, t3, storage.DefinitionHealth{ID: "def-a", FailingSince: norm(t3), Failures: 1})
	record("def-b", 4, t3, storage.DefinitionHealth{ID: "def-b", FailingSince: norm(t2), Failures: 5})
	if err := st.ClearFailures(ctx(t), "def-unknown"); err != nil {
		t.Errorf("ClearFailures(unknown): %v", err)
	}
}
