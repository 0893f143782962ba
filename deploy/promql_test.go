package deploy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// The metric selectors of an expression, found with Prometheus's own PromQL parser (this module
// only: the deployment checks' dependencies stay out of webhookd's go.mod). Grafana's
// $variables are not PromQL: those outside strings are replaced before parsing (a duration
// inside [ ] or after a subquery's :, a number elsewhere); those inside strings stay, so a
// matcher's value reads as written.

type matcher struct {
	Label, Op, Value string
}

type selector struct {
	Name     string
	Matchers []matcher
}

var promql = parser.NewParser(parser.Options{})

// parseSelectors returns the metric selectors of expr in the order they appear. A selector's
// Name is its metric name, written bare or as a __name__ matcher; Matchers are as written (the
// __name__ the parser adds for a bare name left out).
func parseSelectors(expr string) ([]selector, error) {
	e, err := promql.ParseExpr(replaceGrafanaVariables(expr))
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", expr, err)
	}
	var sels []selector
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		s := selector{Name: vs.Name}
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel && vs.Name != "" && m.Type == labels.MatchEqual && m.Value == vs.Name {
				continue // the parser's own, for the bare name
			}
			if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual && s.Name == "" {
				s.Name = m.Value
			}
			s.Matchers = append(s.Matchers, matcher{Label: m.Name, Op: m.Type.String(), Value: m.Value})
		}
		sels = append(sels, s)
		return nil
	})
	return sels, nil
}

// replaceGrafanaVariables replaces Grafana's $name, ${name} and ${name:format} outside string
// literals with a duration (after "[" or a subquery's ":") or a number (anywhere else).
func replaceGrafanaVariables(expr string) string {
	var b strings.Builder
	var quote byte
	last := byte(0) // the last character written outside strings that is not a space
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case quote != 0:
			b.WriteByte(c)
			if c == '\\' && quote != '`' && i+1 < len(expr) {
				i++
				b.WriteByte(expr[i])
			} else if c == quote {
				quote = 0
			}
			continue
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '$':
			end := i + 1
			if end < len(expr) && expr[end] == '{' {
				if j := strings.IndexByte(expr[end:], '}'); j >= 0 {
					end += j + 1
				}
			} else {
				for end < len(expr) && (expr[end] == '_' || expr[end] >= 'a' && expr[end] <= 'z' ||
					expr[end] >= 'A' && expr[end] <= 'Z' || expr[end] >= '0' && expr[end] <= '9') {
					end++
				}
			}
			if end > i+1 {
				v := "1"
				if last == '[' || last == ':' {
					v = "5m"
				}
				b.WriteString(v)
				last = v[len(v)-1]
				i = end - 1
				continue
			}
		}
		b.WriteByte(c)
		if c != ' ' && c != '\t' && c != '\n' {
			last = c
		}
	}
	return b.String()
}

// parseGrafanaVariableQuery handles the query of a Grafana variable: label_values(expr, label)
// yields expr's selectors and the label it lists; anything else is a PromQL expression.
func parseGrafanaVariableQuery(q string) (sels []selector, label string, err error) {
	q = strings.TrimSpace(q)
	if inner, ok := strings.CutPrefix(q, "label_values("); ok && strings.HasSuffix(inner, ")") {
		inner = strings.TrimSuffix(inner, ")")
		comma := strings.LastIndexByte(inner, ',')
		if comma < 0 {
			return nil, "", fmt.Errorf("label_values without a metric: %q", q)
		}
		label = strings.TrimSpace(inner[comma+1:])
		sels, err = parseSelectors(inner[:comma])
		return sels, label, err
	}
	if inner, ok := strings.CutPrefix(q, "query_result("); ok && strings.HasSuffix(inner, ")") {
		q = strings.TrimSuffix(inner, ")")
	}
	sels, err = parseSelectors(q)
	return sels, "", err
}

func TestParseSelectors(t *testing.T) {
	tests := []struct {
		expr    string
		want    string // selectors as name{label op value,...}; names joined by space
		wantErr bool
	}{
		{expr: `up`, want: `up{}`},
		{expr: `up{job="webhookd"} == 0`, want: `up{job=webhookd}`},
		{expr: `sum by (webhook_definition) (rate(webhookd_delivery_attempts_total{job=~"$job", outcome="rejected"}[$__rate_interval]))`,
			want: `webhookd_delivery_attempts_total{job=~$job,outcome=rejected}`},
		{expr: `histogram_quantile(0.99, sum by (le, collection) (rate(webhookd_storage_write_duration_seconds_bucket[5m])))`,
			want: `webhookd_storage_write_duration_seconds_bucket{}`},
		{expr: `sum(rate(a_total[5m])) without (instance) / on (job) group_left(version) b`, want: `a_total{} b{}`},
		{expr: `a unless on(x) b and ignoring (y) c or d offset 1h`, want: `a{} b{} c{} d{}`},
		{expr: `absent(up{job="webhookd"} == 1)`, want: `up{job=webhookd}`},
		{expr: `label_replace(up, "dst", "$1", "instance", "(.*):.*")`, want: `up{}`},
		{expr: `{__name__="webhookd_store_up", instance!="x"}`, want: `webhookd_store_up{__name__=webhookd_store_up,instance!=x}`},
		{expr: `topk(5, x) > bool 1e3`, want: `x{}`},
		{expr: `max_over_time(deriv(x[10m])[1h:5m])`, want: `x{}`},
		{expr: `1 - 2 * 3`, want: ``},
		{expr: `x{a="b",}`, want: `x{a=b}`},
		{expr: "x # a comment naming not_a_metric\n+ y", want: `x{} y{}`},
		{expr: `count by (version, goversion) (webhookd_build_info)`, want: `webhookd_build_info{}`},
		{expr: `sum(x) by (le)`, want: `x{}`},
		{expr: `rate(x[5m]`, wantErr: true},
		{expr: `rate(x[5m]))`, wantErr: true},
		{expr: `x{a="b"`, wantErr: true},
		{expr: `x{a:"b"}`, wantErr: true},
		{expr: `x{a="b}`, wantErr: true},
		{expr: `ratee(x[5m])`, wantErr: true},
		{expr: `sum by instance (x)`, wantErr: true},
		{expr: `x[5m`, wantErr: true},
		{expr: `x[foo]`, wantErr: true},
		{expr: `x;`, wantErr: true},
		{expr: `{}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			sels, err := parseSelectors(tt.expr)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("parseSelectors(%q) = %v, want an error", tt.expr, sels)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseSelectors(%q): %v", tt.expr, err)
			}
			if got := formatSelectors(sels); got != tt.want {
				t.Fatalf("parseSelectors(%q) = %s, want %s", tt.expr, got, tt.want)
			}
		})
	}
}

func TestParseGrafanaVariableQuery(t *testing.T) {
	sels, label, err := parseGrafanaVariableQuery(`label_values(webhookd_build_info{job=~"$job"}, instance)`)
	if err != nil || label != "instance" || formatSelectors(sels) != `webhookd_build_info{job=~$job}` {
		t.Fatalf("got %s, %q, %v", formatSelectors(sels), label, err)
	}
	sels, label, err = parseGrafanaVariableQuery(`query_result(topk(3, x))`)
	if err != nil || label != "" || formatSelectors(sels) != `x{}` {
		t.Fatalf("got %s, %q, %v", formatSelectors(sels), label, err)
	}
}

func formatSelectors(sels []selector) string {
	parts := make([]string, 0, len(sels))
	for _, s := range sels {
		ms := make([]string, 0, len(s.Matchers))
		for _, m := range s.Matchers {
			ms = append(ms, m.Label+m.Op+m.Value)
		}
		parts = append(parts, s.Name+"{"+strings.Join(ms, ",")+"}")
	}
	return strings.Join(parts, " ")
}

// FuzzParseSelectors: any input gives selectors or an error, never a panic or a hang, and
// every selector it returns has a name or matchers.
func FuzzParseSelectors(f *testing.F) {
	for _, s := range []string{
		`sum by (webhook_definition) (rate(webhookd_delivery_attempts_total{outcome="rejected"}[5m]))`,
		`histogram_quantile(0.9, sum by (le) (rate(x_bucket{a=~"$v"}[$__rate_interval])))`,
		`absent(up{job="webhookd"} == 1)`, `a unless on(x) group_left b`, `{__name__="x"}`,
		`"unterminated`, `x{`, `${`, `1e-3 + 0x1f`, `x[5m:1m] offset 1h`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		sels, err := parseSelectors(expr)
		if err != nil {
			return
		}
		for _, s := range sels {
			if s.Name == "" && len(s.Matchers) == 0 {
				t.Fatalf("parseSelectors(%q) returned an empty selector", expr)
			}
		}
	})
}
