package deploy

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"
	"go.yaml.in/yaml/v3"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/metrics"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// repoRoot is the repository's top directory; the tests run in deploy/.
const repoRoot = ".."

func readFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	return b
}

// exportedMetric is one series name webhookd exports, with the label names it carries.
type exportedMetric struct {
	family string // the metric family, as documented (a histogram's name without suffix)
	labels map[string]bool
}

// targetLabels are added by Prometheus to every scraped series.
var targetLabels = []string{"job", "instance"}

// notWebhookd are series a query may use that Prometheus itself makes.
var notWebhookd = map[string][]string{
	"up":               targetLabels,
	"ALERTS":           {"alertname", "alertstate", "severity"},
	"ALERTS_FOR_STATE": {"alertname", "severity"},
}

// exportedMetrics gathers the series names webhookd exports from the metrics package itself.
func exportedMetrics(t *testing.T) map[string]exportedMetric {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := metrics.New(reg, "test")
	m.InitDefinition("x")
	m.InitCommands([]string{"c"})
	// Vectors whose label values come only from traffic (error codes, consumers, collections)
	// have no series yet and Gather would skip them: give each one child, with as many label
	// values as it wants, found by asking, so a metric added later is covered without editing
	// this test.
	v := reflect.ValueOf(m).Elem()
	collectors := 0
	for i := range v.NumField() {
		f := v.Field(i)
		if _, ok := f.Interface().(prometheus.Collector); ok {
			collectors++
		}
		get := f.MethodByName("GetMetricWithLabelValues")
		if !get.IsValid() {
			continue
		}
		for n := 0; ; n++ {
			if n > 10 {
				t.Fatalf("metrics field %s: no label count up to 10 is accepted", v.Type().Field(i).Name)
			}
			args := make([]reflect.Value, n)
			for j := range args {
				args[j] = reflect.ValueOf("x")
			}
			if out := get.Call(args); out[1].IsNil() {
				break
			}
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	if len(families) != collectors {
		t.Fatalf("gathered %d metric families from %d collectors in metrics.Metrics", len(families), collectors)
	}
	out := map[string]exportedMetric{}
	for _, mf := range families {
		labels := map[string]bool{}
		for _, l := range targetLabels {
			labels[l] = true
		}
		for _, mt := range mf.GetMetric() {
			for _, lp := range mt.GetLabel() {
				labels[lp.GetName()] = true
			}
		}
		name := mf.GetName()
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			bucket := map[string]bool{"le": true}
			for l := range labels {
				bucket[l] = true
			}
			out[name+"_bucket"] = exportedMetric{family: name, labels: bucket}
			out[name+"_sum"] = exportedMetric{family: name, labels: labels}
			out[name+"_count"] = exportedMetric{family: name, labels: labels}
			continue
		}
		out[name] = exportedMetric{family: name, labels: labels}
	}
	return out
}

// checkExpr fails the test for a selector in expr that names a series webhookd does not export,
// or a label matcher on a label that series does not carry.
func checkExpr(t *testing.T, where, expr string, exported map[string]exportedMetric, used map[string]bool) {
	t.Helper()
	sels, err := parseSelectors(expr)
	if err != nil {
		t.Errorf("%s: cannot read the expression: %v\n%s", where, err, expr)
		return
	}
	if len(sels) == 0 {
		t.Errorf("%s: the expression names no metric:\n%s", where, expr)
	}
	for _, s := range sels {
		checkSelector(t, where, s, exported, used)
	}
}

func checkSelector(t *testing.T, where string, s selector, exported map[string]exportedMetric, used map[string]bool) {
	t.Helper()
	if s.Name == "" {
		t.Errorf("%s: selector %s has no metric name", where, formatSelectors([]selector{s}))
		return
	}
	var labels map[string]bool
	if ls, ok := notWebhookd[s.Name]; ok {
		labels = map[string]bool{}
		for _, l := range ls {
			labels[l] = true
		}
	} else {
		e, ok := exported[s.Name]
		if !ok {
			t.Errorf("%s: metric %s is not exported by webhookd", where, s.Name)
			return
		}
		labels = e.labels
		used[e.family] = true
	}
	for _, m := range s.Matchers {
		if m.Label != "__name__" && !labels[m.Label] {
			t.Errorf("%s: %s has no label %q (it has %s)", where, s.Name, m.Label, strings.Join(sortedKeys(labels), ", "))
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Grafana dashboard JSON, the parts the tests read.
type dashboard struct {
	Title      string  `json:"title"`
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID          int                      `json:"id"`
	Type        string                   `json:"type"`
	Title       string                   `json:"title"`
	Description string                   `json:"description"`
	Datasource  *datasourceRef           `json:"datasource"`
	Targets     []target                 `json:"targets"`
	Panels      []panel                  `json:"panels"` // a collapsed row's panels
	GridPos     struct{ H, W, X, Y int } `json:"gridPos"`
}

type datasourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type target struct {
	Expr       string         `json:"expr"`
	RefID      string         `json:"refId"`
	Datasource *datasourceRef `json:"datasource"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *datasourceRef  `json:"datasource"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	var d dashboard
	if err := json.Unmarshal(readFile(t, "deploy/grafana/dashboards/webhookd.json"), &d); err != nil {
		t.Fatalf("parse dashboard: %v", err)
	}
	return d
}

// allPanels flattens rows.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// TestDashboardQueriesUseExportedMetrics: every metric (and label matcher) that a panel or a
// variable queries is one webhookd exports, and the dashboard shows every metric of CONTRACT.md
// section 7.
func TestDashboardQueriesUseExportedMetrics(t *testing.T) {
	exported := exportedMetrics(t)
	d := loadDashboard(t)
	used := map[string]bool{}
	queries := 0
	for _, p := range allPanels(d.Panels) {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			queries++
			checkExpr(t, fmt.Sprintf("panel %q query %s", p.Title, tg.RefID), tg.Expr, exported, used)
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			if err := json.Unmarshal(v.Query, &q.Query); err != nil {
				t.Fatalf("variable %s: query is neither an object nor a string: %s", v.Name, v.Query)
			}
		}
		sels, label, err := parseGrafanaVariableQuery(q.Query)
		if err != nil {
			t.Errorf("variable %s: %v", v.Name, err)
			continue
		}
		for _, s := range sels {
			checkSelector(t, "variable "+v.Name, s, exported, used)
			if label != "" && s.Name != "" {
				if e, ok := exported[s.Name]; ok && !e.labels[label] {
					t.Errorf("variable %s lists label %q, which %s does not have", v.Name, label, s.Name)
				}
			}
		}
	}
	if queries < 20 {
		t.Errorf("only %d panel queries found: is the dashboard parsed right?", queries)
	}
	for _, name := range []string{"webhookd_events_total", "webhookd_delivery_attempts_total",
		"webhookd_delivery_duration_seconds", "webhookd_requests_logged_total",
		"webhookd_control_commands_total", "webhookd_consumer_pending_messages",
		"webhookd_delivery_errors_total", "webhookd_deliveries_in_flight",
		"webhookd_storage_write_duration_seconds", "webhookd_storage_batch_size",
		"webhookd_nats_connected", "webhookd_store_up"} {
		if !used[name] {
			t.Errorf("no dashboard panel shows %s", name)
		}
	}
	t.Logf("%d panel queries; metric families shown: %d of %d", queries, len(used), len(familyNames(exported)))
}

func familyNames(exported map[string]exportedMetric) map[string]bool {
	out := map[string]bool{}
	for _, e := range exported {
		out[e.family] = true
	}
	return out
}

// TestDashboardStructure: panels use the $datasource variable, ids are unique, panels do not
// overlap, and each has a title and a description (docs/operations.md describes them).
func TestDashboardStructure(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Fatal("dashboard needs a uid and a title")
	}
	hasDS := slices.ContainsFunc(d.Templating.List, func(v variable) bool {
		return v.Name == "datasource" && v.Type == "datasource" && string(v.Query) == `"prometheus"`
	})
	if !hasDS {
		t.Fatal("dashboard has no datasource variable of type prometheus")
	}
	for _, v := range d.Templating.List {
		if v.Type == "query" && (v.Datasource == nil || v.Datasource.UID != "${datasource}") {
			t.Errorf("variable %s does not query through ${datasource}", v.Name)
		}
	}
	ids := map[int]string{}
	titles := map[string]bool{}
	type cell struct{ x, y int }
	taken := map[cell]string{}
	for _, p := range allPanels(d.Panels) {
		if prev, ok := ids[p.ID]; ok {
			t.Errorf("panels %q and %q share id %d", prev, p.Title, p.ID)
		}
		ids[p.ID] = p.Title
		if p.Title == "" {
			t.Errorf("panel %d has no title", p.ID)
		}
		if titles[p.Title] {
			t.Errorf("two panels are titled %q", p.Title)
		}
		titles[p.Title] = true
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q has gridPos %+v outside the 24-column grid", p.Title, g)
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := taken[cell{x, y}]; ok {
					t.Errorf("panels %q and %q overlap at %d,%d", other, p.Title, x, y)
					goto next
				}
				taken[cell{x, y}] = p.Title
			}
		}
	next:
		if p.Type == "row" {
			continue
		}
		if p.Description == "" {
			t.Errorf("panel %q has no description", p.Title)
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q does not use the ${datasource} variable", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.Datasource == nil || tg.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q query %s does not use the ${datasource} variable", p.Title, tg.RefID)
			}
		}
	}
}

// Prometheus rule files, the parts the tests read.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func loadRules(t *testing.T) ruleFile {
	t.Helper()
	var rf ruleFile
	dec := yaml.NewDecoder(strings.NewReader(string(readFile(t, "deploy/prometheus/alerts.yml"))))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("parse alerts.yml: %v", err)
	}
	return rf
}

// TestAlertRulesUseExportedMetrics: every metric an alert expression names is exported, every
// alert has a severity and the annotations on-call reads, and the must-have alerts exist.
func TestAlertRulesUseExportedMetrics(t *testing.T) {
	exported := exportedMetrics(t)
	rf := loadRules(t)
	used := map[string]bool{}
	alerts := map[string]bool{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("group %s: rule without alert name (recording rules are not expected)", g.Name)
				continue
			}
			if alerts[r.Alert] {
				t.Errorf("alert %s is defined twice", r.Alert)
			}
			alerts[r.Alert] = true
			checkExpr(t, "alert "+r.Alert, r.Expr, exported, used)
			switch r.Labels["severity"] {
			case "critical", "warning":
			default:
				t.Errorf("alert %s: severity %q, want critical or warning", r.Alert, r.Labels["severity"])
			}
			for _, a := range []string{"summary", "description", "runbook"} {
				if r.Annotations[a] == "" {
					t.Errorf("alert %s has no %s annotation", r.Alert, a)
				}
			}
		}
	}
	for _, a := range []string{"WebhookdDown", "WebhookdAbsent", "WebhookdRejectionsRising",
		"WebhookdConsumerLagGrowing", "WebhookdDefinitionFailingEverything",
		"WebhookdNATSDisconnected", "WebhookdStoreDown"} {
		if !alerts[a] {
			t.Errorf("alert %s is missing", a)
		}
	}
}

// TestEveryAlertIsUnitTested: alerts_test.yml makes every alert of alerts.yml fire at least once
// (promtool test rules, run by .ci/deploy-checks.sh, checks that it does).
func TestEveryAlertIsUnitTested(t *testing.T) {
	var tf struct {
		RuleFiles []string `yaml:"rule_files"`
		Tests     []struct {
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(readFile(t, "deploy/prometheus/alerts_test.yml"), &tf); err != nil {
		t.Fatalf("parse alerts_test.yml: %v", err)
	}
	if !slices.Equal(tf.RuleFiles, []string{"alerts.yml"}) {
		t.Errorf("alerts_test.yml loads %v, want [alerts.yml]", tf.RuleFiles)
	}
	fires := map[string]bool{}
	quiet := map[string]bool{}
	for _, tc := range tf.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if !fires[r.Alert] {
				t.Errorf("alerts_test.yml never expects %s to fire", r.Alert)
			}
			if !quiet[r.Alert] {
				t.Errorf("alerts_test.yml never expects %s to stay quiet", r.Alert)
			}
		}
	}
}

// TestPrometheusConfig: the compose Prometheus loads alerts.yml and scrapes webhookd under the
// job name the rules and the dashboard select.
func TestPrometheusConfig(t *testing.T) {
	var pc struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(readFile(t, "deploy/prometheus/prometheus.yml"), &pc); err != nil {
		t.Fatalf("parse prometheus.yml: %v", err)
	}
	if !slices.Contains(pc.RuleFiles, "alerts.yml") {
		t.Errorf("prometheus.yml does not load alerts.yml: %v", pc.RuleFiles)
	}
	found := false
	for _, sc := range pc.ScrapeConfigs {
		if sc.JobName == "webhookd" {
			found = true
			if len(sc.StaticConfigs) == 0 || !slices.Contains(sc.StaticConfigs[0].Targets, "webhookd:8080") {
				t.Errorf("job webhookd does not scrape webhookd:8080: %+v", sc.StaticConfigs)
			}
		}
	}
	if !found {
		t.Error("prometheus.yml has no job webhookd")
	}
}

// osDirFS is the repository as an fs.FS.
func osDirFS() fs.FS { return os.DirFS(repoRoot) }

// TestSampleConfig: the compose sample configuration is a valid section 4 document whose
// definitions all point at the sample receiver and are all fired by some rule.
func TestSampleConfig(t *testing.T) {
	doc, err := config.ParseYAML(readFile(t, "deploy/config/webhookd.yaml"))
	if err != nil {
		t.Fatalf("deploy/config/webhookd.yaml: %v", err)
	}
	if err := doc.Validate(func(string) bool { return false }); err != nil {
		t.Fatalf("deploy/config/webhookd.yaml: %v", err)
	}
	fired := map[string]bool{}
	for _, r := range doc.WorkflowRules {
		for _, id := range r.WebhookDefinitions {
			fired[id] = true
		}
	}
	for _, d := range doc.WebhookDefinitions {
		if !strings.HasPrefix(d.URL, "http://receiver:8090/hooks/") {
			t.Errorf("definition %s sends to %s, not to the compose receiver", d.ID, d.URL)
		}
		if !fired[d.ID] {
			t.Errorf("no rule fires definition %s", d.ID)
		}
	}
}

// operationsDoc is the page that documents the metrics, the alerts and the dashboard.
const operationsDoc = "docs/operations.md"

// TestDocsDescribeEverything: docs/operations.md lists every exported metric, every alert and
// every dashboard panel, so the page cannot fall behind what it documents.
func TestDocsDescribeEverything(t *testing.T) {
	docs := string(readFile(t, operationsDoc))
	for name := range familyNames(exportedMetrics(t)) {
		if !strings.Contains(docs, "`"+name+"`") {
			t.Errorf("%s does not list metric %s", operationsDoc, name)
		}
	}
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if !strings.Contains(docs, "`"+r.Alert+"`") {
				t.Errorf("%s does not list alert %s", operationsDoc, r.Alert)
			}
		}
	}
	for _, p := range allPanels(loadDashboard(t).Panels) {
		if !strings.Contains(docs, "**"+p.Title+"**") {
			t.Errorf("%s does not describe panel %q", operationsDoc, p.Title)
		}
	}
}
