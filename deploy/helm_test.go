package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	kjson "sigs.k8s.io/json"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/delivery"
	"github.com/webhookd/webhookd/secrets"
)

const chartDir = "charts/webhookd"

// flagEnv is the environment variable of every webhookd flag, read from the flags' own
// declarations (cmd/webhookd/main.go), so a new flag needs no second list here.
var flagEnv = func() []string {
	src, err := os.ReadFile(filepath.Join(repoRoot, "cmd/webhookd/main.go"))
	if err != nil {
		panic(err)
	}
	var names []string
	for _, m := range regexp.MustCompile(`env:"(WEBHOOKD_[A-Z_]+)"`).FindAllSubmatch(src, -1) {
		names = append(names, string(m[1]))
	}
	if len(names) < 16 {
		panic(fmt.Sprintf("found only %d WEBHOOKD_ variables in cmd/webhookd/main.go", len(names)))
	}
	return names
}()

// serviceMonitor is the Prometheus Operator's CRD, reduced to the fields the chart may set, so
// that strict decoding catches a misspelt or misplaced field.
type serviceMonitor struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector struct {
			MatchNames []string `json:"matchNames,omitempty"`
			Any        bool     `json:"any,omitempty"`
		} `json:"namespaceSelector"`
		JobLabel  string `json:"jobLabel,omitempty"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
			Relabelings   []struct {
				SourceLabels []string `json:"sourceLabels,omitempty"`
				Separator    string   `json:"separator,omitempty"`
				TargetLabel  string   `json:"targetLabel,omitempty"`
				Regex        string   `json:"regex,omitempty"`
				Replacement  string   `json:"replacement,omitempty"`
				Action       string   `json:"action,omitempty"`
			} `json:"relabelings,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// prometheusRule is the Prometheus Operator's CRD, reduced to the fields the chart may set.
type prometheusRule struct {
	metav1.TypeMeta `json:",inline"`
	Metadata        metav1.ObjectMeta `json:"metadata"`
	Spec            struct {
		Groups []ruleGroup `json:"groups"`
	} `json:"spec"`
}

// ruleGroup is a group of a Prometheus rule file, and of a PrometheusRule.
type ruleGroup struct {
	Name     string `json:"name" yaml:"name"`
	Interval string `json:"interval,omitempty" yaml:"interval,omitempty"`
	Rules    []struct {
		Alert         string            `json:"alert,omitempty" yaml:"alert,omitempty"`
		Record        string            `json:"record,omitempty" yaml:"record,omitempty"`
		Expr          string            `json:"expr" yaml:"expr"`
		For           string            `json:"for,omitempty" yaml:"for,omitempty"`
		KeepFiringFor string            `json:"keep_firing_for,omitempty" yaml:"keep_firing_for,omitempty"`
		Labels        map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
		Annotations   map[string]string `json:"annotations,omitempty" yaml:"annotations,omitempty"`
	} `json:"rules" yaml:"rules"`
}

// manifests are the objects of one rendering, decoded strictly into their API types.
type manifests struct {
	deployment      *appsv1.Deployment
	service         *corev1.Service
	serviceAccount  *corev1.ServiceAccount
	configMaps      map[string]*corev1.ConfigMap
	secrets         map[string]*corev1.Secret
	pdb             *policyv1.PodDisruptionBudget
	serviceMonitor  *serviceMonitor
	prometheusRule  *prometheusRule
	kinds           []string
	renderedSources []string
}

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	c, err := loader.Load(filepath.Join(repoRoot, chartDir))
	if err != nil {
		t.Fatalf("load chart: %v", err)
	}
	return c
}

// values reads a YAML snippet of values, as --values would.
func values(t *testing.T, y string) map[string]any {
	t.Helper()
	v, err := chartutil.ReadValues([]byte(y))
	if err != nil {
		t.Fatalf("values %q: %v", y, err)
	}
	return v
}

// render renders the chart offline, as helm template does, and returns the rendered files.
func render(c *chart.Chart, vals map[string]any) (map[string]string, error) {
	rv, err := chartutil.ToRenderValues(c, vals,
		chartutil.ReleaseOptions{Name: "webhookd", Namespace: "webhookd", IsInstall: true, Revision: 1}, nil)
	if err != nil {
		return nil, fmt.Errorf("render values: %w", err)
	}
	out, err := engine.Render(c, rv)
	if err != nil {
		return nil, fmt.Errorf("render chart: %w", err)
	}
	return out, nil
}

// decodeStrict turns one YAML manifest into obj as the API server's strict field validation
// would: a field the type does not have, a field in the wrong case (encoding/json would match
// it case-insensitively) and a duplicate field are all errors.
func decodeStrict(doc []byte, obj any) error {
	// sigs.k8s.io/yaml's strict mode refuses duplicate YAML keys, which the JSON form would hide.
	if err := sigsyaml.UnmarshalStrict(doc, obj); err != nil {
		return fmt.Errorf("strict YAML %T: %w", obj, err)
	}
	j, err := sigsyaml.YAMLToJSON(doc)
	if err != nil {
		return fmt.Errorf("YAML to JSON: %w", err)
	}
	strict, err := kjson.UnmarshalStrict(j, obj, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return fmt.Errorf("decode %T: %w", obj, err)
	}
	if len(strict) > 0 {
		return fmt.Errorf("decode %T: %w", obj, errors.Join(strict...))
	}
	return nil
}

func renderManifests(t *testing.T, vals map[string]any) manifests {
	t.Helper()
	files, err := render(loadChart(t), vals)
	if err != nil {
		t.Fatal(err)
	}
	m := manifests{configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}}
	names := sortedKeys(files)
	for _, name := range names {
		if !strings.HasSuffix(name, ".yaml") {
			continue // NOTES.txt
		}
		for i, doc := range strings.Split(files[name], "\n---") {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			where := fmt.Sprintf("%s#%d", name, i)
			var tm metav1.TypeMeta
			if err := sigsyaml.Unmarshal([]byte(doc), &tm); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			want := map[string]string{
				"Deployment": "apps/v1", "Service": "v1", "ServiceAccount": "v1", "ConfigMap": "v1",
				"Secret": "v1", "PodDisruptionBudget": "policy/v1", "ServiceMonitor": "monitoring.coreos.com/v1",
				"PrometheusRule": "monitoring.coreos.com/v1",
			}[tm.Kind]
			if want == "" || tm.APIVersion != want {
				t.Fatalf("%s: unexpected %s %s", where, tm.APIVersion, tm.Kind)
			}
			var obj any
			switch tm.Kind {
			case "Deployment":
				if m.deployment != nil {
					t.Fatalf("%s: second Deployment", where)
				}
				m.deployment = &appsv1.Deployment{}
				obj = m.deployment
			case "Service":
				m.service = &corev1.Service{}
				obj = m.service
			case "ServiceAccount":
				m.serviceAccount = &corev1.ServiceAccount{}
				obj = m.serviceAccount
			case "ConfigMap":
				obj = &corev1.ConfigMap{}
			case "Secret":
				obj = &corev1.Secret{}
			case "PodDisruptionBudget":
				m.pdb = &policyv1.PodDisruptionBudget{}
				obj = m.pdb
			case "ServiceMonitor":
				m.serviceMonitor = &serviceMonitor{}
				obj = m.serviceMonitor
			case "PrometheusRule":
				m.prometheusRule = &prometheusRule{}
				obj = m.prometheusRule
			}
			if err := decodeStrict([]byte(doc), obj); err != nil {
				t.Fatalf("%s: %v\n%s", where, err, doc)
			}
			switch o := obj.(type) {
			case *corev1.ConfigMap:
				m.configMaps[o.Name] = o
			case *corev1.Secret:
				m.secrets[o.Name] = o
			}
			m.kinds = append(m.kinds, tm.Kind)
			m.renderedSources = append(m.renderedSources, name)
		}
	}
	sort.Strings(m.kinds)
	return m
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func container(t *testing.T, d *appsv1.Deployment) corev1.Container {
	t.Helper()
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 1 || cs[0].Name != "webhookd" {
		t.Fatalf("want one container named webhookd, got %d", len(cs))
	}
	return cs[0]
}

func envOf(c corev1.Container) map[string]corev1.EnvVar {
	out := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		out[e.Name] = e
	}
	return out
}

// mountedFile resolves a file path inside the container to the volume that provides it and the
// key of the Secret or ConfigMap behind it.
func mountedFile(t *testing.T, d *appsv1.Deployment, file string) (vol corev1.Volume, key string) {
	t.Helper()
	c := container(t, d)
	dir, base := path.Split(file)
	dir = strings.TrimSuffix(dir, "/")
	for _, vm := range c.VolumeMounts {
		if vm.MountPath != dir {
			continue
		}
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name != vm.Name {
				continue
			}
			var items []corev1.KeyToPath
			switch {
			case v.Secret != nil:
				items = v.Secret.Items
			case v.ConfigMap != nil:
				items = v.ConfigMap.Items
			default:
				t.Fatalf("%s is on volume %s, which is neither a Secret nor a ConfigMap", file, v.Name)
			}
			if len(items) == 0 {
				return v, base
			}
			for _, it := range items {
				if it.Path == base {
					return v, it.Key
				}
			}
			t.Fatalf("volume %s does not project a file %s", v.Name, base)
		}
		t.Fatalf("mount %s names no volume", vm.Name)
	}
	t.Fatalf("no volume is mounted at %s (for %s)", dir, file)
	return corev1.Volume{}, ""
}

func secretRef(t *testing.T, env map[string]corev1.EnvVar, name string) *corev1.SecretKeySelector {
	t.Helper()
	e, ok := env[name]
	if !ok {
		t.Fatalf("env %s is not set", name)
	}
	if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
		t.Fatalf("env %s does not come from a Secret: %+v", name, e)
	}
	return e.ValueFrom.SecretKeyRef
}

// TestChartDefaults: the default rendering has what an operator relies on: non-root, read-only
// root filesystem, no capabilities, probes on /healthz and /readyz, the MongoDB URI from a
// Secret, the configuration from the ConfigMap, a Service for /metrics, the dashboard for
// Grafana's sidecar, and no optional parts.
func TestChartDefaults(t *testing.T) {
	m := renderManifests(t, nil)
	if want := []string{"ConfigMap", "ConfigMap", "Deployment", "Service", "ServiceAccount"}; !slices.Equal(m.kinds, want) {
		t.Fatalf("rendered kinds %v, want %v", m.kinds, want)
	}
	d := m.deployment
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2", d.Spec.Replicas)
	}
	pod := d.Spec.Template.Spec
	if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("Deployment selector %v does not select its pods %v (%v)", d.Spec.Selector, d.Spec.Template.Labels, err)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the pod mounts a service account token it does not need")
	}
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("pod security context does not enforce a non-root user: %+v", psc)
	}
	if psc != nil && (psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault) {
		t.Errorf("pod seccomp profile %+v, want RuntimeDefault", psc.SeccompProfile)
	}

	c := container(t, d)
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Fatal("container has no security context")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("root filesystem is writable")
	case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
		t.Error("container may run as root")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("privilege escalation allowed")
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
		t.Errorf("capabilities %+v, want all dropped and none added", sc.Capabilities)
	}
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 8080 {
		t.Errorf("container ports %+v, want http 8080", c.Ports)
	}
	for name, p := range map[string]*corev1.Probe{"/healthz": c.LivenessProbe, "/readyz": c.ReadinessProbe, "/healthz ": c.StartupProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != strings.TrimSpace(name) || p.HTTPGet.Port.String() != "http" {
			t.Errorf("probe for %s is %+v", name, p)
		}
	}
	if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("memory request and limit must be set: %+v", c.Resources)
	}

	env := envOf(c)
	for name := range env {
		if !slices.Contains(flagEnv, name) {
			t.Errorf("env %s is not a webhookd flag", name)
		}
	}
	if env["WEBHOOKD_NATS_URL"].Value != "nats://nats:4222" {
		t.Errorf("WEBHOOKD_NATS_URL = %q", env["WEBHOOKD_NATS_URL"].Value)
	}
	if ref := secretRef(t, env, "WEBHOOKD_MONGO_URI"); ref.Name != "webhookd-mongo" || ref.Key != "uri" {
		t.Errorf("MongoDB URI from %s/%s, want webhookd-mongo/uri", ref.Name, ref.Key)
	}
	if env["WEBHOOKD_HTTP_ADDR"].Value != ":8080" {
		t.Errorf("WEBHOOKD_HTTP_ADDR = %q, want :8080", env["WEBHOOKD_HTTP_ADDR"].Value)
	}
	// The destination guard is on by default, and nothing is allowed past it.
	if v, set := env["WEBHOOKD_ALLOW_DESTINATION"]; set || env["WEBHOOKD_ALLOW_PRIVATE_NETWORKS"].Value != "false" {
		t.Errorf("the guard is opened by default: WEBHOOKD_ALLOW_DESTINATION=%q WEBHOOKD_ALLOW_PRIVATE_NETWORKS=%q",
			v.Value, env["WEBHOOKD_ALLOW_PRIVATE_NETWORKS"].Value)
	}
	for _, e := range c.Env {
		if strings.Contains(e.Value, "mongodb://") || strings.Contains(e.Value, "mongodb+srv://") {
			t.Errorf("env %s holds a MongoDB URI in plain text", e.Name)
		}
	}

	// The configuration: --config points into the ConfigMap, whose document is valid.
	vol, key := mountedFile(t, d, env["WEBHOOKD_CONFIG"].Value)
	if vol.ConfigMap == nil {
		t.Fatalf("--config is not mounted from a ConfigMap: %+v", vol)
	}
	cm, ok := m.configMaps[vol.ConfigMap.Name]
	if !ok {
		t.Fatalf("config volume names ConfigMap %s, which the chart does not render", vol.ConfigMap.Name)
	}
	doc, err := config.ParseYAML([]byte(cm.Data[key]))
	if err != nil {
		t.Fatalf("ConfigMap %s key %s: %v", cm.Name, key, err)
	}
	if len(doc.WebhookDefinitions)+len(doc.WorkflowRules) != 0 {
		t.Errorf("default configuration is not empty: %+v", doc)
	}
	if d.Spec.Template.Annotations["checksum/config"] == "" {
		t.Error("no checksum/config annotation: pods would not roll on a configuration change")
	}

	// The secrets key file: mounted read-only from the Secret, readable by its owner alone.
	checkSecretsKeyMount(t, d, env, "webhookd-secrets-key", "secrets.key")

	// The read-only root filesystem needs writable scratch space.
	writable := map[string]bool{}
	for _, vm := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name == vm.Name && v.EmptyDir != nil && !vm.ReadOnly {
				writable[vm.MountPath] = true
			}
		}
	}
	if !writable["/tmp"] || !writable[env["WEBHOOKD_DATA_DIR"].Value] {
		t.Errorf("writable emptyDir mounts %v, want /tmp and the data directory", writable)
	}

	svc := m.service
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 8080 || svc.Spec.Ports[0].TargetPort.String() != "http" || svc.Spec.Ports[0].Name != "http" {
		t.Errorf("Service ports %+v, want http 8080 -> http", svc.Spec.Ports)
	}
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, d.Spec.Template.Labels)
	}
	if pod.ServiceAccountName != m.serviceAccount.Name {
		t.Errorf("pods use ServiceAccount %s, the chart creates %s", pod.ServiceAccountName, m.serviceAccount.Name)
	}

	dash, ok := m.configMaps["webhookd-dashboard"]
	if !ok {
		t.Fatal("no dashboard ConfigMap")
	}
	if dash.Labels["grafana_dashboard"] != "1" {
		t.Errorf("dashboard ConfigMap labels %v, want grafana_dashboard: \"1\"", dash.Labels)
	}
	want := strings.TrimSpace(string(readFile(t, "deploy/grafana/dashboards/webhookd.json")))
	if got := dash.Data["webhookd.json"]; got != want {
		t.Errorf("dashboard ConfigMap holds %d bytes that differ from deploy/grafana/dashboards/webhookd.json (%d bytes)", len(got), len(want))
	}
}

// checkSecretsKeyMount: --secrets-key-file names a file of Secret secret (key key), mounted
// read-only with mode 0400.
func checkSecretsKeyMount(t *testing.T, d *appsv1.Deployment, env map[string]corev1.EnvVar, secret, key string) {
	t.Helper()
	file := env["WEBHOOKD_SECRETS_KEY_FILE"].Value
	if file == "" {
		t.Fatal("WEBHOOKD_SECRETS_KEY_FILE is not set: webhookd refuses to start with MongoDB without a key file")
	}
	vol, k := mountedFile(t, d, file)
	if vol.Secret == nil || vol.Secret.SecretName != secret || k != key {
		t.Errorf("--secrets-key-file %s is %+v key %s, want Secret %s key %s", file, vol.VolumeSource, k, secret, key)
	}
	if vol.Secret != nil && (vol.Secret.DefaultMode == nil || *vol.Secret.DefaultMode != 0o400) {
		t.Errorf("the secrets key file's mode is %v, want 0400", vol.Secret.DefaultMode)
	}
	for _, vm := range container(t, d).VolumeMounts {
		if vm.Name == vol.Name && !vm.ReadOnly {
			t.Errorf("the secrets key file is mounted writable at %s", vm.MountPath)
		}
	}
}

// TestChartEverythingOn: the optional parts and every NATS authentication Secret render into
// valid objects, with files mounted where the WEBHOOKD_* variables say, and every flag of
// CONTRACT.md section 1 reachable through the environment.
func TestChartEverythingOn(t *testing.T) {
	m := renderManifests(t, values(t, `
serviceMonitor: {enabled: true, labels: {release: kube-prometheus}}
podDisruptionBudget: {enabled: true}
nats:
  url: nats://nats-a:4222,nats://nats-b:4222
  credentials: {existingSecret: nats-creds}
  nkey: {existingSecret: nats-nkey}
  userPassword: {existingSecret: nats-user}
  tls: {existingSecret: nats-tls}
configExistingSecret: webhookd-config
allowDestinations: [10.20.0.0/16, receiver.hooks.svc.cluster.local]
allowPrivateNetworks: true
logFormat: text
extraEnv:
  - {name: WEBHOOKD_EMBEDDED_NATS_LISTEN, value: "127.0.0.1:4222"}
  - {name: WEBHOOKD_EMBEDDED_NATS_CONFIG, value: ""}
  - {name: WEBHOOKD_CONSOLE_USERS, value: /etc/webhookd/console/htpasswd}
`))
	if want := []string{"ConfigMap", "Deployment", "PodDisruptionBudget", "Service", "ServiceAccount", "ServiceMonitor"}; !slices.Equal(m.kinds, want) {
		t.Fatalf("rendered kinds %v, want %v", m.kinds, want)
	}
	d := m.deployment
	c := container(t, d)
	env := envOf(c)
	for _, name := range flagEnv {
		if _, ok := env[name]; !ok {
			t.Errorf("flag variable %s is not set", name)
		}
	}
	for name, secret := range map[string]string{
		"WEBHOOKD_NATS_CREDS": "nats-creds", "WEBHOOKD_NATS_NKEY": "nats-nkey",
		"WEBHOOKD_NATS_TLS_CA": "nats-tls", "WEBHOOKD_NATS_TLS_CERT": "nats-tls", "WEBHOOKD_NATS_TLS_KEY": "nats-tls",
		"WEBHOOKD_CONFIG": "webhookd-config",
	} {
		vol, _ := mountedFile(t, d, env[name].Value)
		if vol.Secret == nil || vol.Secret.SecretName != secret {
			t.Errorf("%s=%s is not a file of Secret %s: %+v", name, env[name].Value, secret, vol.VolumeSource)
		}
	}
	for _, name := range []string{"WEBHOOKD_NATS_USER", "WEBHOOKD_NATS_PASSWORD"} {
		if ref := secretRef(t, env, name); ref.Name != "nats-user" {
			t.Errorf("%s from Secret %s, want nats-user", name, ref.Name)
		}
	}
	if env["WEBHOOKD_ALLOW_PRIVATE_NETWORKS"].Value != "true" || env["WEBHOOKD_LOG_FORMAT"].Value != "text" {
		t.Errorf("allowPrivateNetworks/logFormat not passed: %+v %+v", env["WEBHOOKD_ALLOW_PRIVATE_NETWORKS"], env["WEBHOOKD_LOG_FORMAT"])
	}
	// The allow-list reaches webhookd as its comma-separated variable, and parses.
	allow, err := delivery.ParseAllowList(strings.Split(env["WEBHOOKD_ALLOW_DESTINATION"].Value, ","))
	if err != nil || !slices.Equal(allow.Entries(), []string{"10.20.0.0/16", "receiver.hooks.svc.cluster.local"}) {
		t.Errorf("WEBHOOKD_ALLOW_DESTINATION = %q: %v %v", env["WEBHOOKD_ALLOW_DESTINATION"].Value, allow.Entries(), err)
	}
	for _, vm := range c.VolumeMounts {
		if strings.HasPrefix(vm.MountPath, "/etc/webhookd/") && !vm.ReadOnly {
			t.Errorf("%s is mounted writable", vm.MountPath)
		}
	}
	if _, ok := m.configMaps["webhookd-config"]; ok {
		t.Error("the config ConfigMap is rendered although configExistingSecret is set")
	}

	podLabels := labels.Set(d.Spec.Template.Labels)
	pdb := m.pdb
	if sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err != nil || !sel.Matches(podLabels) {
		t.Errorf("PDB selector %v does not select the pods (%v)", pdb.Spec.Selector, err)
	}
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 || pdb.Spec.MaxUnavailable != nil {
		t.Errorf("PDB minAvailable %v maxUnavailable %v, want 1 and unset", pdb.Spec.MinAvailable, pdb.Spec.MaxUnavailable)
	}

	sm := m.serviceMonitor
	if sm.Metadata.Labels["release"] != "kube-prometheus" {
		t.Errorf("ServiceMonitor labels %v lack the extra label", sm.Metadata.Labels)
	}
	if sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector); err != nil || !sel.Matches(labels.Set(m.service.Labels)) {
		t.Errorf("ServiceMonitor selector %v does not select the Service %v (%v)", sm.Spec.Selector, m.service.Labels, err)
	}
	if !slices.Equal(sm.Spec.NamespaceSelector.MatchNames, []string{"webhookd"}) {
		t.Errorf("ServiceMonitor namespaces %v", sm.Spec.NamespaceSelector.MatchNames)
	}
	duration := regexp.MustCompile(`^([0-9]+(ms|s|m|h))+$`)
	if len(sm.Spec.Endpoints) != 1 {
		t.Fatalf("ServiceMonitor endpoints %+v", sm.Spec.Endpoints)
	}
	ep := sm.Spec.Endpoints[0]
	if ep.Port != m.service.Spec.Ports[0].Name || ep.Path != "/metrics" || !duration.MatchString(ep.Interval) || !duration.MatchString(ep.ScrapeTimeout) {
		t.Errorf("ServiceMonitor endpoint %+v", ep)
	}
	if len(ep.Relabelings) != 1 || ep.Relabelings[0].TargetLabel != "job" || ep.Relabelings[0].Replacement != "webhookd" {
		t.Errorf("ServiceMonitor does not set job=\"webhookd\", which the alerts select: %+v", ep.Relabelings)
	}
}

// TestChartDevelopmentValues: a MongoDB URI in values becomes a Secret the pods read, a
// maxUnavailable PDB renders, and the sample configuration survives the trip through values.
func TestChartDevelopmentValues(t *testing.T) {
	var sample map[string]any
	if err := yaml.Unmarshal(readFile(t, "deploy/config/webhookd.yaml"), &sample); err != nil {
		t.Fatal(err)
	}
	vals := values(t, `
mongo: {existingSecret: "", uri: "mongodb://mongo:27017/?replicaSet=rs0"}
podDisruptionBudget: {enabled: true, maxUnavailable: 1}
secretsKey:
  existingSecret: ""
  keys: |
    # development key
    dev-1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
`)
	vals["config"] = sample
	m := renderManifests(t, vals)
	env := envOf(container(t, m.deployment))
	ref := secretRef(t, env, "WEBHOOKD_MONGO_URI")
	s, ok := m.secrets[ref.Name]
	if !ok {
		t.Fatalf("WEBHOOKD_MONGO_URI names Secret %s, which is not rendered", ref.Name)
	}
	if s.StringData[ref.Key] != "mongodb://mongo:27017/?replicaSet=rs0" {
		t.Errorf("Secret %s key %s = %q", s.Name, ref.Key, s.StringData[ref.Key])
	}
	// The key file from values becomes a Secret, mounted where --secrets-key-file says, that
	// webhookd parses.
	checkSecretsKeyMount(t, m.deployment, env, "webhookd-secrets-key", "secrets.key")
	ks, ok := m.secrets["webhookd-secrets-key"]
	if !ok {
		t.Fatalf("no Secret webhookd-secrets-key rendered from secretsKey.keys; Secrets: %v", sortedKeys(m.secrets))
	}
	if k, err := secrets.Parse([]byte(ks.StringData["secrets.key"]), "rendered secrets.key"); err != nil || k.Primary() != "dev-1" {
		t.Errorf("rendered key file: %v", err)
	}
	if m.pdb.Spec.MaxUnavailable == nil || m.pdb.Spec.MaxUnavailable.IntValue() != 1 || m.pdb.Spec.MinAvailable != nil {
		t.Errorf("PDB %+v, want maxUnavailable 1 only", m.pdb.Spec)
	}

	vol, key := mountedFile(t, m.deployment, env["WEBHOOKD_CONFIG"].Value)
	got, err := config.ParseYAML([]byte(m.configMaps[vol.ConfigMap.Name].Data[key]))
	if err != nil {
		t.Fatalf("rendered configuration: %v", err)
	}
	if err := got.Validate(func(string) bool { return false }); err != nil {
		t.Fatalf("rendered configuration: %v", err)
	}
	want, err := config.ParseYAML(readFile(t, "deploy/config/webhookd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if !bytes.Equal(gj, wj) {
		t.Errorf("configuration changed on its way through values:\n got %s\nwant %s", gj, wj)
	}
}

// TestChartRequiredValues: without a NATS URL or a MongoDB URI Secret the chart refuses to render
// rather than produce pods that cannot start.
func TestChartRequiredValues(t *testing.T) {
	c := loadChart(t)
	for _, tc := range []struct{ values, wantErr string }{
		{`nats: {url: ""}`, "nats.url is required"},
		{`mongo: {existingSecret: "", uri: ""}`, "mongo.existingSecret"},
		{`secretsKey: {existingSecret: "", keys: ""}`, "secretsKey.existingSecret"},
	} {
		_, err := render(c, values(t, tc.values))
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("values %s: error %v, want one containing %q", tc.values, err, tc.wantErr)
		}
	}
}

// TestChartDashboardCopy: the chart ships a copy of the dashboard (.Files.Get cannot reach
// outside the chart); it must not drift from deploy/grafana/dashboards/webhookd.json.
func TestChartDashboardCopy(t *testing.T) {
	if !bytes.Equal(readFile(t, chartDir+"/dashboards/webhookd.json"), readFile(t, "deploy/grafana/dashboards/webhookd.json")) {
		t.Fatal("charts/webhookd/dashboards/webhookd.json differs from deploy/grafana/dashboards/webhookd.json: " +
			"cp deploy/grafana/dashboards/webhookd.json charts/webhookd/dashboards/")
	}
}

// TestChartPrometheusRule: prometheusRule.enabled renders the alert rules of
// deploy/prometheus/alerts.yml as a PrometheusRule, with the extra labels, selecting the job the
// ServiceMonitor gives the series; every expression still reads as PromQL.
func TestChartPrometheusRule(t *testing.T) {
	t.Parallel()
	var file struct {
		Groups []ruleGroup `yaml:"groups"`
	}
	if err := yaml.Unmarshal(readFile(t, "deploy/prometheus/alerts.yml"), &file); err != nil {
		t.Fatal(err)
	}
	m := renderManifests(t, values(t, `prometheusRule: {enabled: true, labels: {release: kube-prometheus}}`))
	if want := []string{"ConfigMap", "ConfigMap", "Deployment", "PrometheusRule", "Service", "ServiceAccount"}; !slices.Equal(m.kinds, want) {
		t.Fatalf("rendered kinds %v, want %v", m.kinds, want)
	}
	pr := m.prometheusRule
	if pr.Metadata.Namespace != "webhookd" || pr.Metadata.Labels["release"] != "kube-prometheus" ||
		pr.Metadata.Labels["app.kubernetes.io/name"] != "webhookd" {
		t.Errorf("PrometheusRule metadata %+v", pr.Metadata)
	}
	if len(file.Groups) == 0 || len(file.Groups[0].Rules) < 5 {
		t.Fatalf("deploy/prometheus/alerts.yml read as %+v", file.Groups)
	}
	got, _ := json.Marshal(pr.Spec.Groups)
	want, _ := json.Marshal(file.Groups)
	if !bytes.Equal(got, want) {
		t.Errorf("PrometheusRule groups differ from deploy/prometheus/alerts.yml:\n%s\nwant\n%s", got, want)
	}

	// Another job label: the rules follow it.
	m = renderManifests(t, values(t, `{prometheusRule: {enabled: true}, serviceMonitor: {jobLabel: crm-webhooks}}`))
	jobs := 0
	for _, g := range m.prometheusRule.Spec.Groups {
		for _, r := range g.Rules {
			if strings.Contains(r.Expr, `job="webhookd"`) {
				t.Errorf("alert %s still selects job=\"webhookd\": %s", r.Alert, r.Expr)
			}
			jobs += strings.Count(r.Expr, `job="crm-webhooks"`)
			if _, err := parseSelectors(r.Expr); err != nil {
				t.Errorf("alert %s: %v", r.Alert, err)
			}
		}
	}
	if jobs == 0 {
		t.Error("no rule selects the job of serviceMonitor.jobLabel")
	}
}

// TestChartAlertsCopy: the chart ships a copy of the alert rules; it must not drift from
// deploy/prometheus/alerts.yml.
func TestChartAlertsCopy(t *testing.T) {
	t.Parallel()
	if !bytes.Equal(readFile(t, chartDir+"/alerts/webhookd.yml"), readFile(t, "deploy/prometheus/alerts.yml")) {
		t.Fatal("charts/webhookd/alerts/webhookd.yml differs from deploy/prometheus/alerts.yml: " +
			"cp deploy/prometheus/alerts.yml charts/webhookd/alerts/webhookd.yml")
	}
}

// TestValuesDocumented: every key of values.yaml has a comment, above it or beside it.
func TestValuesDocumented(t *testing.T) {
	var root yaml.Node
	if err := yaml.Unmarshal(readFile(t, chartDir+"/values.yaml"), &root); err != nil {
		t.Fatal(err)
	}
	keys := 0
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, prefix)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				name := prefix + k.Value
				keys++
				if strings.TrimSpace(k.HeadComment) == "" && strings.TrimSpace(k.LineComment) == "" {
					t.Errorf("values.yaml line %d: key %s has no comment", k.Line, name)
				}
				walk(v, name+".")
			}
		}
	}
	walk(&root, "")
	if keys < 50 {
		t.Fatalf("only %d keys found in values.yaml", keys)
	}
}
