package deploy

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// A small PromQL reader: enough to find the metric selectors of an expression and their label
// matchers, without importing Prometheus itself (its module would pull hundreds of dependencies
// into go.mod for one parser). It knows the grammar's parts that hide names which are not
// metrics: function and aggregation names, label lists after by/without/on/ignoring/group_*,
// strings, durations and Grafana's $variables.

type matcher struct {
	Label, Op, Value string
}

type selector struct {
	Name     string
	Matchers []matcher
}

type tokKind int

const (
	tIdent tokKind = iota
	tString
	tNumber
	tVar
	tPunct
)

type token struct {
	kind tokKind
	text string
	pos  int
}

// promqlFunctions are PromQL's functions; an identifier followed by "(" must be one of them.
var promqlFunctions = setOf(
	"abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh",
	"avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh",
	"count_over_time", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "deg",
	"delta", "deriv", "double_exponential_smoothing", "exp", "floor", "histogram_avg",
	"histogram_count", "histogram_fraction", "histogram_quantile", "histogram_stddev",
	"histogram_stdvar", "histogram_sum", "holt_winters", "hour", "idelta", "increase", "info",
	"irate", "label_join", "label_replace", "last_over_time", "ln", "log10", "log2",
	"mad_over_time", "max_over_time", "min_over_time", "minute", "month", "pi",
	"predict_linear", "present_over_time", "quantile_over_time", "rad", "rate", "resets",
	"round", "scalar", "sgn", "sin", "sinh", "sort", "sort_by_label", "sort_by_label_desc",
	"sort_desc", "sqrt", "stddev_over_time", "stdvar_over_time", "sum_over_time", "tan", "tanh",
	"time", "timestamp", "vector", "year", "start", "end",
)

// promqlAggregations may be followed by a by/without clause before their parenthesis.
var promqlAggregations = setOf(
	"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
	"bottomk", "topk", "quantile", "limitk", "limit_ratio",
)

// Keywords followed by a parenthesised list of label names.
var labelListKeywords = setOf("by", "without", "on", "ignoring", "group_left", "group_right")

var promqlKeywords = setOf("and", "or", "unless", "bool", "offset", "atan2", "inf", "nan")

func setOf(s ...string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, v := range s {
		m[v] = true
	}
	return m
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

func lexPromQL(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			start := i
			i++
			var b strings.Builder
			for {
				if i >= len(s) {
					return nil, fmt.Errorf("unterminated string at offset %d", start)
				}
				if s[i] == c {
					i++
					break
				}
				if s[i] == '\\' && c != '`' {
					if i+1 >= len(s) {
						return nil, fmt.Errorf("unterminated string at offset %d", start)
					}
					i++
				}
				b.WriteByte(s[i])
				i++
			}
			toks = append(toks, token{tString, b.String(), start})
		case c == '$':
			// Grafana variables: $name, ${name}, ${name:format}.
			start := i
			i++
			if i < len(s) && s[i] == '{' {
				end := strings.IndexByte(s[i:], '}')
				if end < 0 {
					return nil, fmt.Errorf("unterminated ${ at offset %d", start)
				}
				i += end + 1
			} else {
				for i < len(s) && isIdentChar(s[i]) {
					i++
				}
				if i == start+1 {
					return nil, fmt.Errorf("lone $ at offset %d", start)
				}
			}
			toks = append(toks, token{tVar, s[start:i], start})
		case (c >= '0' && c <= '9') || (c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9'):
			// Numbers and durations (0.99, 1e3, 0x1f, 5m, 1h30m).
			start := i
			for i < len(s) && (isIdentChar(s[i]) || s[i] == '.' ||
				((s[i] == '+' || s[i] == '-') && (s[i-1] == 'e' || s[i-1] == 'E') && !strings.ContainsAny(s[start:i], "xX"))) {
				i++
			}
			toks = append(toks, token{tNumber, s[start:i], start})
		case isIdentStart(c):
			start := i
			for i < len(s) && isIdentChar(s[i]) {
				i++
			}
			toks = append(toks, token{tIdent, s[start:i], start})
		default:
			start := i
			two := ""
			if i+1 < len(s) {
				two = s[i : i+2]
			}
			switch two {
			case "==", "!=", "=~", "!~", "<=", ">=":
				i += 2
				toks = append(toks, token{tPunct, two, start})
				continue
			}
			if strings.IndexByte("(){}[],=<>+-*/%^@", c) < 0 {
				r, _ := utf8.DecodeRuneInString(s[i:])
				return nil, fmt.Errorf("unexpected %q at offset %d", r, i)
			}
			i++
			toks = append(toks, token{tPunct, string(c), start})
		}
	}
	return toks, nil
}

// parseSelectors returns every vector selector in a PromQL expression, in order.
func parseSelectors(expr string) ([]selector, error) {
	toks, err := lexPromQL(expr)
	if err != nil {
		return nil, err
	}
	var out []selector
	depth := 0
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		next := func() *token {
			if i+1 < len(toks) {
				return &toks[i+1]
			}
			return nil
		}
		switch {
		case t.kind == tIdent && labelListKeywords[strings.ToLower(t.text)]:
			n := next()
			if n == nil || n.text != "(" {
				if t.text == "group_left" || t.text == "group_right" {
					continue // the label list is optional after group_*
				}
				return nil, fmt.Errorf("%s at offset %d needs a label list", t.text, t.pos)
			}
			end, err := closeParen(toks, i+1)
			if err != nil {
				return nil, err
			}
			for _, l := range toks[i+2 : end] {
				if l.kind != tIdent && l.text != "," {
					return nil, fmt.Errorf("%s list at offset %d holds %q, not a label name", t.text, t.pos, l.text)
				}
			}
			i = end
		case t.kind == tIdent && promqlAggregations[t.text]:
			// Its by/without clause or its parenthesis follows; both are handled on their own.
		case t.kind == tIdent && promqlKeywords[strings.ToLower(t.text)]:
		case t.kind == tIdent:
			if n := next(); n != nil && n.text == "(" {
				if !promqlFunctions[t.text] {
					return nil, fmt.Errorf("unknown function %s at offset %d", t.text, t.pos)
				}
				continue
			}
			sel := selector{Name: t.text}
			if n := next(); n != nil && n.text == "{" {
				ms, end, err := parseMatchers(toks, i+1)
				if err != nil {
					return nil, err
				}
				sel.Matchers, i = ms, end
			}
			out = append(out, sel)
		case t.text == "{":
			ms, end, err := parseMatchers(toks, i)
			if err != nil {
				return nil, err
			}
			if len(ms) == 0 {
				return nil, fmt.Errorf("empty selector {} at offset %d", t.pos)
			}
			sel := selector{Matchers: ms}
			for _, m := range ms {
				if m.Label == "__name__" && m.Op == "=" {
					sel.Name = m.Value
				}
			}
			out = append(out, sel)
			i = end
		case t.text == "[":
			// Range or subquery: durations and variables only.
			end := i + 1
			for end < len(toks) && toks[end].text != "]" {
				if toks[end].kind == tIdent {
					return nil, fmt.Errorf("unexpected %q in range at offset %d", toks[end].text, toks[end].pos)
				}
				end++
			}
			if end == len(toks) {
				return nil, fmt.Errorf("unclosed [ at offset %d", t.pos)
			}
			i = end
		case t.text == "(":
			depth++
		case t.text == ")":
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("unbalanced ) at offset %d", t.pos)
			}
		case t.text == "}" || t.text == "]":
			return nil, fmt.Errorf("unbalanced %s at offset %d", t.text, t.pos)
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("%d unclosed (", depth)
	}
	return out, nil
}

// closeParen returns the index of the ")" matching the "(" at toks[open].
func closeParen(toks []token, open int) (int, error) {
	depth := 0
	for j := open; j < len(toks); j++ {
		switch toks[j].text {
		case "(":
			depth++
		case ")":
			depth--
			if depth == 0 {
				return j, nil
			}
		}
	}
	return 0, fmt.Errorf("unclosed ( at offset %d", toks[open].pos)
}

// parseMatchers reads {label op "value", ...} starting at the "{" at toks[open] and returns the
// matchers and the index of the closing "}".
func parseMatchers(toks []token, open int) ([]matcher, int, error) {
	var ms []matcher
	j := open + 1
	for {
		if j >= len(toks) {
			return nil, 0, fmt.Errorf("unclosed { at offset %d", toks[open].pos)
		}
		if toks[j].text == "}" {
			return ms, j, nil
		}
		if j+2 >= len(toks) || (toks[j].kind != tIdent && toks[j].kind != tString) {
			return nil, 0, fmt.Errorf("bad label matcher at offset %d", toks[j].pos)
		}
		op := toks[j+1].text
		if op != "=" && op != "!=" && op != "=~" && op != "!~" {
			return nil, 0, fmt.Errorf("bad matcher operator %q at offset %d", op, toks[j+1].pos)
		}
		if toks[j+2].kind != tString {
			return nil, 0, fmt.Errorf("matcher value at offset %d is not a string", toks[j+2].pos)
		}
		ms = append(ms, matcher{Label: toks[j].text, Op: op, Value: toks[j+2].text})
		j += 3
		if j < len(toks) && toks[j].text == "," {
			j++
		}
	}
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
