package deploy

import (
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"

	"github.com/webhookd/webhookd/config"
	"github.com/webhookd/webhookd/delivery"
	"github.com/webhookd/webhookd/secrets"
)

// loadCompose loads docker-compose.yml with the compose specification's own Go loader:
// schema validation, interpolation and path resolution as `docker compose config` does them.
// The environment is empty on purpose, so the file's ${VAR:-default} defaults are what is
// checked, whatever the machine running the test has set; nothing is fetched (no remote
// resource loaders, no includes).
func loadCompose(t *testing.T) (*types.Project, string) {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	details := types.ConfigDetails{
		WorkingDir:  root,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(root, "docker-compose.yml")}},
		Environment: types.Mapping{},
	}
	p, err := loader.LoadWithContext(t.Context(), details, func(o *loader.Options) {
		o.SetProjectName("webhookd", true)
		o.ResolvePaths = true
	})
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	return p, root
}

func env(s types.ServiceConfig, name string) string {
	if v, ok := s.Environment[name]; ok && v != nil {
		return *v
	}
	return ""
}

// TestComposeMountsExist: every file or directory the compose file bind-mounts or builds from
// is in the repository.
func TestComposeMountsExist(t *testing.T) {
	p, root := loadCompose(t)
	binds := 0
	for _, name := range sortedKeys(p.Services) {
		s := p.Services[name]
		for _, v := range s.Volumes {
			switch v.Type {
			case types.VolumeTypeBind:
				binds++
				rel, err := filepath.Rel(root, v.Source)
				if err != nil || strings.HasPrefix(rel, "..") {
					t.Errorf("service %s mounts %s, outside the repository", name, v.Source)
					continue
				}
				if _, err := os.Stat(v.Source); err != nil {
					t.Errorf("service %s mounts %s, which does not exist: %v", name, rel, err)
				}
				if !v.ReadOnly {
					t.Errorf("service %s mounts %s writable; repository files are mounted read-only", name, rel)
				}
			case types.VolumeTypeVolume:
				if _, ok := p.Volumes[v.Source]; !ok {
					t.Errorf("service %s uses volume %s, which is not declared", name, v.Source)
				}
			}
		}
		if b := s.Build; b != nil {
			df := filepath.Join(b.Context, b.Dockerfile)
			if _, err := os.Stat(df); err != nil {
				t.Errorf("service %s builds from %s: %v", name, df, err)
				continue
			}
			if b.Target != "" && !slices.ContainsFunc(parseDockerfile(t), func(st dockerStage) bool { return st.name == b.Target }) {
				t.Errorf("service %s builds target %s, which Dockerfile does not have", name, b.Target)
			}
		}
	}
	if binds < 6 {
		t.Errorf("only %d bind mounts found: is the file loaded right?", binds)
	}
}

// TestComposeServices: the services the issue asks for, wired together: webhookd built from the
// Dockerfile, talking to NATS with the webhookd user's password and to the MongoDB replica set,
// waiting for both to be healthy; Prometheus loading the rules its configuration names;
// Grafana provisioned with the dashboard directory.
func TestComposeServices(t *testing.T) {
	p, root := loadCompose(t)
	for _, name := range []string{"nats", "mongo", "webhookd", "receiver", "prometheus", "grafana"} {
		if _, ok := p.Services[name]; !ok {
			t.Fatalf("service %s is missing", name)
		}
	}
	w := p.Services["webhookd"]
	if w.Build == nil || w.Build.Target != "webhookd" {
		t.Errorf("webhookd is not built from the Dockerfile's webhookd target: %+v", w.Build)
	}
	for name := range w.Environment {
		if !slices.Contains(flagEnv, name) {
			t.Errorf("webhookd environment %s is not a webhookd flag", name)
		}
	}
	if got, want := env(w, "WEBHOOKD_NATS_PASSWORD"), env(p.Services["nats"], "NATS_WEBHOOKD_PASSWORD"); got == "" || got != want {
		t.Errorf("webhookd's NATS password %q differs from the nats service's NATS_WEBHOOKD_PASSWORD %q", got, want)
	}
	// The guard stays on: the allow-list names the sample receiver, the host of every URL of
	// the sample configuration, and nothing else.
	if v := env(w, "WEBHOOKD_ALLOW_PRIVATE_NETWORKS"); v != "" {
		t.Errorf("WEBHOOKD_ALLOW_PRIVATE_NETWORKS = %q: the compose file must use the allow-list", v)
	}
	allow, err := delivery.ParseAllowList(strings.Split(env(w, "WEBHOOKD_ALLOW_DESTINATION"), ","))
	if err != nil || !slices.Equal(allow.Entries(), []string{"receiver"}) {
		t.Errorf("WEBHOOKD_ALLOW_DESTINATION = %q (%v), want the receiver service alone", env(w, "WEBHOOKD_ALLOW_DESTINATION"), err)
	}
	sample, err := config.ParseYAML(readFile(t, "deploy/config/webhookd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range sample.WebhookDefinitions {
		if u, err := url.Parse(d.URL); err != nil || !slices.Contains(allow.Entries(), u.Hostname()) {
			t.Errorf("definition %s: host of %s is not allowed", d.ID, d.URL)
		}
	}
	if env(w, "WEBHOOKD_NATS_USER") != "webhookd" {
		t.Errorf("webhookd connects to NATS as %q, want the webhookd user of nats.conf", env(w, "WEBHOOKD_NATS_USER"))
	}
	if u := env(w, "WEBHOOKD_MONGO_URI"); !strings.Contains(u, "replicaSet=rs0") || !strings.Contains(u, "mongo:27017") {
		t.Errorf("WEBHOOKD_MONGO_URI = %q, want the rs0 replica set on mongo:27017", u)
	}
	for _, dep := range []string{"nats", "mongo"} {
		if d, ok := w.DependsOn[dep]; !ok || d.Condition != types.ServiceConditionHealthy {
			t.Errorf("webhookd does not wait for %s to be healthy: %+v", dep, d)
		}
	}
	if !w.ReadOnly || !slices.Contains(w.CapDrop, "ALL") || w.User == "" || strings.HasPrefix(w.User, "0") || w.User == "root" {
		t.Errorf("webhookd container is not locked down: read_only=%v cap_drop=%v user=%q", w.ReadOnly, w.CapDrop, w.User)
	}
	// The configuration webhookd applies at start is mounted where WEBHOOKD_CONFIG says.
	mountSource := func(s types.ServiceConfig, target string) string {
		for _, v := range s.Volumes {
			if v.Target == target {
				return v.Source
			}
		}
		return ""
	}
	if src := mountSource(w, env(w, "WEBHOOKD_CONFIG")); src != filepath.Join(root, "deploy/config/webhookd.yaml") {
		t.Errorf("WEBHOOKD_CONFIG %s is mounted from %q", env(w, "WEBHOOKD_CONFIG"), src)
	}

	// With MongoDB webhookd needs a secrets key file: mounted where WEBHOOKD_SECRETS_KEY_FILE
	// says, and one webhookd can read.
	keyFile := env(w, "WEBHOOKD_SECRETS_KEY_FILE")
	if src := mountSource(w, keyFile); keyFile == "" || src != filepath.Join(root, "deploy/secrets/dev.key") {
		t.Errorf("WEBHOOKD_SECRETS_KEY_FILE %q is mounted from %q, want deploy/secrets/dev.key", keyFile, src)
	} else if _, err := secrets.LoadFile(src); err != nil {
		t.Errorf("the mounted key file: %v", err)
	}

	m := p.Services["mongo"]
	if !slices.Contains(m.Command, "--replSet") || m.HealthCheck == nil || !strings.Contains(strings.Join(m.HealthCheck.Test, " "), "rs.initiate") {
		t.Errorf("mongo is not a replica set initiated by its healthcheck: command %v healthcheck %+v", m.Command, m.HealthCheck)
	}
	n := p.Services["nats"]
	if n.HealthCheck == nil || !slices.Contains(n.Command, "/etc/nats/nats.conf") || mountSource(n, "/etc/nats/nats.conf") != filepath.Join(root, "deploy/nats/nats.conf") {
		t.Errorf("nats does not run deploy/nats/nats.conf with a healthcheck: %v", n.Command)
	}

	// Prometheus: each rule file its configuration names is mounted beside it.
	prom := p.Services["prometheus"]
	var promConfig string
	for _, a := range prom.Command {
		if v, ok := strings.CutPrefix(a, "--config.file="); ok {
			promConfig = v
		}
	}
	if mountSource(prom, promConfig) != filepath.Join(root, "deploy/prometheus/prometheus.yml") {
		t.Fatalf("prometheus runs with %q, which is not deploy/prometheus/prometheus.yml", promConfig)
	}
	var pc struct {
		RuleFiles []string `yaml:"rule_files"`
	}
	if err := yaml.Unmarshal(readFile(t, "deploy/prometheus/prometheus.yml"), &pc); err != nil {
		t.Fatal(err)
	}
	for _, rf := range pc.RuleFiles {
		target := path.Join(path.Dir(promConfig), rf)
		if src := mountSource(prom, target); src != filepath.Join(root, "deploy/prometheus", rf) {
			t.Errorf("rule file %s is not mounted at %s (got %q)", rf, target, src)
		}
	}

	// Grafana: the dashboard provider's path is the mounted dashboard directory.
	g := p.Services["grafana"]
	var prov struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	if err := yaml.Unmarshal(readFile(t, "deploy/grafana/provisioning/dashboards/webhookd.yml"), &prov); err != nil {
		t.Fatal(err)
	}
	if len(prov.Providers) != 1 || mountSource(g, prov.Providers[0].Options.Path) != filepath.Join(root, "deploy/grafana/dashboards") {
		t.Errorf("Grafana's dashboard provider does not read the mounted deploy/grafana/dashboards: %+v", prov)
	}
	if mountSource(g, "/etc/grafana/provisioning") != filepath.Join(root, "deploy/grafana/provisioning") {
		t.Error("Grafana's provisioning directory is not mounted")
	}
	var ds struct {
		Datasources []struct {
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(readFile(t, "deploy/grafana/provisioning/datasources/prometheus.yml"), &ds); err != nil {
		t.Fatal(err)
	}
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL != "http://prometheus:9090" {
		t.Errorf("Grafana datasource %+v, want prometheus at http://prometheus:9090", ds.Datasources)
	}

	// Published ports stay on the loopback interface: the passwords are development defaults.
	for _, name := range sortedKeys(p.Services) {
		for _, port := range p.Services[name].Ports {
			if port.Published != "" && port.HostIP != "127.0.0.1" {
				t.Errorf("service %s publishes port %s on %q, not on 127.0.0.1", name, port.Published, port.HostIP)
			}
		}
	}
}
