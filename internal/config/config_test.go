package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/config"
	"github.com/vigil-monitoring/vigil/internal/config/kubernetes"
	"github.com/vigil-monitoring/vigil/internal/discovery"
	"github.com/vigil-monitoring/vigil/internal/discovery/dns"
	"github.com/vigil-monitoring/vigil/internal/discovery/file"
	"github.com/vigil-monitoring/vigil/internal/discovery/http"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

func mustLoad(t *testing.T, src string) *config.Config {
	t.Helper()
	cfg, err := config.Load(src, "", nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return cfg
}

func TestDefaults(t *testing.T) {
	cfg := mustLoad(t, "scrape_configs:\n- job_name: a\n")
	g := cfg.GlobalConfig
	if g.ScrapeInterval != config.Duration(time.Minute) || g.ScrapeTimeout != config.Duration(10*time.Second) ||
		g.EvaluationInterval != config.Duration(time.Minute) || g.MetricNameValidationScheme != config.UTF8Validation {
		t.Fatalf("global defaults wrong: %+v", g)
	}
	sc := cfg.ScrapeConfigs[0]
	if sc.ScrapeInterval != g.ScrapeInterval || sc.ScrapeTimeout != g.ScrapeTimeout {
		t.Fatalf("intervals not inherited: %v %v", sc.ScrapeInterval, sc.ScrapeTimeout)
	}
	if sc.Scheme != "http" || sc.MetricsPath != "/metrics" || !sc.HonorTimestamps || sc.HonorLabels ||
		!sc.EnableCompression || !sc.HTTPClientConfig.FollowRedirects || !sc.HTTPClientConfig.EnableHTTP2 {
		t.Fatalf("scrape defaults wrong: %+v", sc)
	}
	if !reflect.DeepEqual(sc.ScrapeProtocols, config.DefaultScrapeProtocols) {
		t.Fatalf("protocols %v", sc.ScrapeProtocols)
	}
	if sc.MetricNameEscapingScheme != config.EscapingAllowUTF8 || sc.MetricNameValidationScheme != config.UTF8Validation {
		t.Fatalf("naming %q %q", sc.MetricNameValidationScheme, sc.MetricNameEscapingScheme)
	}
	if cfg.StorageConfig.ExemplarsConfig.MaxExemplars != 100000 || cfg.StorageConfig.TSDBConfig == nil {
		t.Fatalf("storage defaults wrong: %+v", cfg.StorageConfig)
	}
	if cfg.Runtime.GoGC == 0 {
		t.Fatal("runtime gogc not defaulted")
	}
}

func TestInheritanceAndOverrides(t *testing.T) {
	cfg := mustLoad(t, `
global:
  scrape_interval: 15s
  scrape_timeout: 5s
  sample_limit: 100
  body_size_limit: 10MB
  scrape_native_histograms: true
  metric_name_validation_scheme: legacy
scrape_configs:
- job_name: inherit
- job_name: own
  scrape_interval: 3s
  sample_limit: 7
  scrape_protocols: [PrometheusText0.0.4]
  metric_name_validation_scheme: utf8
`)
	a, b := cfg.ScrapeConfigs[0], cfg.ScrapeConfigs[1]
	if a.ScrapeInterval != config.Duration(15*time.Second) || a.ScrapeTimeout != config.Duration(5*time.Second) || a.SampleLimit != 100 || a.BodySizeLimit != 10<<20 {
		t.Fatalf("inherit: %+v", a)
	}
	if !reflect.DeepEqual(a.ScrapeProtocols, config.DefaultProtoFirstScrapeProtocols) {
		t.Fatalf("native histograms should put protobuf first: %v", a.ScrapeProtocols)
	}
	if a.MetricNameValidationScheme != config.LegacyValidation || a.MetricNameEscapingScheme != config.EscapingUnderscores {
		t.Fatalf("legacy inheritance: %q %q", a.MetricNameValidationScheme, a.MetricNameEscapingScheme)
	}
	// A timeout larger than the local interval is capped to it.
	if b.ScrapeInterval != config.Duration(3*time.Second) || b.ScrapeTimeout != config.Duration(3*time.Second) || b.SampleLimit != 7 {
		t.Fatalf("own: %+v", b)
	}
	if b.MetricNameEscapingScheme != config.EscapingAllowUTF8 {
		t.Fatalf("local utf8 should allow utf8 escaping, got %q", b.MetricNameEscapingScheme)
	}
}

func TestErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"scrape_configs:\n- job_name: a\n  bogus: 1\n", "line 3: field bogus not found in type config.ScrapeConfig"},
		{"global:\n  scrape_interval: 1x\n", `not a valid duration string: "1x"`},
		{"global:\n  scrape_interval: 5s\n  scrape_timeout: 6s\n", "global scrape timeout greater than scrape interval"},
		{"global:\n  external_labels:\n    a-b: c\n  metric_name_validation_scheme: legacy\n", `"a-b" is not a valid label name`},
		{"scrape_configs:\n- job_name: a\n  ec2_sd_configs: [{}]\n", "line 3: unsupported service discovery: ec2_sd_configs"},
		{"scrape_configs:\n- job_name: a\n  file_sd_configs: [{files: [x.txt]}]\n", `path name "x.txt" is not valid for file discovery`},
		{"scrape_configs:\n- job_name: a\n  dns_sd_configs: [{names: [x], type: A}]\n", "a port is required"},
		{"scrape_configs:\n- job_name: a\n  dns_sd_configs: [{names: [x], type: TXT}]\n", "invalid DNS-SD records type TXT"},
		{"scrape_configs:\n- job_name: a\n  static_configs: [{targets: ['a:1']}]\n  scheme: https\n  tls_config: {cert_file: c}\n", "exactly one of key or key_file must be configured"},
		{"scrape_configs:\n- job_name: a\n  authorization: {type: Basic, credentials: x}\n", `authorization type cannot be set to "basic"`},
		{"scrape_configs:\n- job_name: a\n  oauth2: {client_id: x}\n", "oauth2 token_url must be configured"},
		{"scrape_configs:\n- job_name: a\n  http_headers: {user-agent: {values: [x]}}\n", `setting header "User-Agent" is not allowed`},
		{"scrape_configs:\n- job_name: a\n  no_proxy: localhost\n", "if no_proxy is configured, proxy_url must also be configured"},
		{"alerting:\n  alertmanagers:\n  - api_version: v1\n", "expected Alertmanager api version to be one of [v2] but got v1"},
		{"scrape_configs:\n- job_name: a\n  kubernetes_sd_configs: [{role: pod, namespaces: {foo: bar}}]\n", "field foo not found in type kubernetes.plain"},
		{"scrape_configs:\n- job_name: a\n  kubernetes_sd_configs: [{role: pod, selectors: [{role: pod, label: 'a in (b'}]}]\n", "unable to parse requirement"},
		{"scrape_configs:\n- job_name: a\n  consul_sd_configs: [{server: ' '}]\n", "consul SD configuration requires a server address"},
		{"tracing:\n  endpoint: x\n  client_type: udp\n", "expected tracing client type"},
	}
	for _, tc := range cases {
		_, err := config.Load(tc.src, "", nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Load(%q) = %v, want error containing %q", tc.src, err, tc.want)
		}
	}
}

func TestServiceDiscoveryConfigs(t *testing.T) {
	cfg := mustLoad(t, `
scrape_configs:
- job_name: a
  static_configs:
  - targets: ['h1:1', 'h2:2']
    labels: {env: prod}
  - targets: ['h3:3']
  file_sd_configs:
  - files: [targets/*.json]
  http_sd_configs:
  - url: http://sd.example/targets
    basic_auth: {username: u, password_file: pw}
  dns_sd_configs:
  - names: [_x._tcp.example.]
  kubernetes_sd_configs:
  - role: endpoints
`)
	sds := cfg.ScrapeConfigs[0].ServiceDiscoveryConfigs
	var names []string
	for _, c := range sds {
		names = append(names, c.Name())
	}
	// Keys are decoded in sorted order; static groups come last, as one config.
	if got := strings.Join(names, ","); got != "dns,file,http,kubernetes,static" {
		t.Fatalf("configs %s", got)
	}
	st := sds[4].(discovery.StaticConfig)
	if len(st) != 2 || st[0].Source != "0" || st[1].Source != "1" || st[0].Labels.Get("env") != "prod" || st[0].Targets[1].Get("__address__") != "h2:2" {
		t.Fatalf("static groups %+v", st)
	}
	if d := sds[0].(*dns.SDConfig); d.Type != "SRV" || d.RefreshInterval != discovery.Duration(30*time.Second) {
		t.Fatalf("dns defaults %+v", d)
	}
	if f := sds[1].(*file.SDConfig); f.RefreshInterval != discovery.Duration(5*time.Minute) {
		t.Fatalf("file defaults %+v", f)
	}
	if h := sds[2].(*http.SDConfig); h.RefreshInterval != discovery.Duration(time.Minute) || !h.HTTPClientConfig.FollowRedirects {
		t.Fatalf("http defaults %+v", h)
	}
	if _, err := sds[3].NewDiscoverer(discovery.DiscovererOptions{}); err != kubernetes.ErrNotImplemented {
		t.Fatalf("kubernetes discoverer: %v", err)
	}
}

func TestSetDirectoryAndSecrets(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "prometheus.yml")
	src := `
global:
  query_log_file: q.log
rule_files: [rules/*.yml, /abs/r.yml]
scrape_configs:
- job_name: a
  basic_auth: {username: u, password_file: pw}
  tls_config: {ca_file: ca.pem, cert_file: /abs/c.pem, key_file: k.pem}
  file_sd_configs: [{files: [sd/*.yml]}]
- job_name: b
  bearer_token: topsecret
  oauth2: null
remote_write:
- url: http://rw/
  authorization: {credentials_file: token}
  basic_auth: null
`
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadFile(path, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.ScrapeConfigs[0]
	checks := map[string]string{
		cfg.GlobalConfig.QueryLogFile:                                            filepath.Join(dir, "q.log"),
		cfg.RuleFiles[0]:                                                         filepath.Join(dir, "rules/*.yml"),
		a.HTTPClientConfig.BasicAuth.PasswordFile:                                filepath.Join(dir, "pw"),
		a.HTTPClientConfig.TLSConfig.CAFile:                                      filepath.Join(dir, "ca.pem"),
		a.HTTPClientConfig.TLSConfig.KeyFile:                                     filepath.Join(dir, "k.pem"),
		a.ServiceDiscoveryConfigs[0].(*file.SDConfig).Files[0]:                   filepath.Join(dir, "sd/*.yml"),
		cfg.RemoteWriteConfigs[0].HTTPClientConfig.Authorization.CredentialsFile: filepath.Join(dir, "token"),
	}
	for got, want := range checks {
		if got != want {
			t.Errorf("path %q, want %q", got, want)
		}
	}
	if cfg.RuleFiles[1] != "/abs/r.yml" || a.HTTPClientConfig.TLSConfig.CertFile != "/abs/c.pem" {
		t.Error("absolute paths must stay unchanged")
	}
	// The legacy bearer token became an Authorization credential.
	b := cfg.ScrapeConfigs[1].HTTPClientConfig
	if b.Authorization == nil || b.Authorization.Type != "Bearer" || b.Authorization.Credentials != "topsecret" || b.BearerToken != "" {
		t.Fatalf("bearer token not moved: %+v", b)
	}
	out := cfg.String()
	if strings.Contains(out, "topsecret") || !strings.Contains(out, "credentials: <secret>") {
		t.Fatalf("secret leaked or missing in:\n%s", out)
	}
	if !strings.Contains(out, "file_sd_configs:") || !strings.Contains(out, "job_name: a") {
		t.Fatalf("printed config lacks sections:\n%s", out)
	}
}

func TestRoundTrip(t *testing.T) {
	src := `
global:
  scrape_interval: 15s
  external_labels: {region: eu}
scrape_configs:
- job_name: a
  static_configs: [{targets: ['h:1'], labels: {x: y}}]
  dns_sd_configs: [{names: [a.example], type: A, port: 80}]
  relabel_configs:
  - {source_labels: [__address__], regex: '(.*):.*', target_label: host}
alerting:
  alertmanagers:
  - static_configs: [{targets: ['am:9093']}]
    path_prefix: /am
`
	first := mustLoad(t, src)
	second := mustLoad(t, first.String())
	if first.String() != second.String() {
		t.Fatalf("printing is not stable:\n%s\n---\n%s", first.String(), second.String())
	}
	am := second.AlertingConfig.AlertmanagerConfigs[0]
	if am.PathPrefix != "/am" || am.Scheme != "http" || am.Timeout != config.Duration(10*time.Second) || len(am.ServiceDiscoveryConfigs) != 1 {
		t.Fatalf("alertmanager %+v", am)
	}
	if !labels.Equal(second.GlobalConfig.ExternalLabels, labels.FromStrings("region", "eu")) {
		t.Fatalf("external labels %s", second.GlobalConfig.ExternalLabels)
	}
	if rc := second.ScrapeConfigs[0].RelabelConfigs[0]; rc.Regex.String() != "(.*):.*" || rc.TargetLabel != "host" {
		t.Fatalf("relabel %+v", rc)
	}
}

func TestExternalLabelsExpandEnvironment(t *testing.T) {
	t.Setenv("VIGIL_TEST_ENV", "val")
	cfg := mustLoad(t, "global:\n  external_labels:\n    a: ${VIGIL_TEST_ENV}\n    b: x$${VIGIL_TEST_ENV}\n    c: ${VIGIL_TEST_UNSET}\n")
	want := labels.FromStrings("a", "val", "b", "x${VIGIL_TEST_ENV}")
	if !labels.Equal(cfg.GlobalConfig.ExternalLabels, want) {
		t.Fatalf("got %s, want %s", cfg.GlobalConfig.ExternalLabels, want)
	}
}

func TestScrapeConfigFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("jobs/a.yml", "scrape_configs:\n- job_name: a\n  tls_config: {ca_file: ca.pem}\n")
	write("jobs/b.yml", "scrape_configs:\n- job_name: b\n")
	write("main.yml", "global: {scrape_interval: 30s}\nscrape_config_files: [jobs/*.yml]\nscrape_configs:\n- job_name: main\n")
	cfg, err := config.LoadFile(filepath.Join(dir, "main.yml"), false, nil)
	if err != nil {
		t.Fatal(err)
	}
	scs, err := cfg.GetScrapeConfigs()
	if err != nil {
		t.Fatal(err)
	}
	if len(scs) != 3 || scs[0].JobName != "main" || scs[1].JobName != "a" || scs[2].JobName != "b" {
		t.Fatalf("jobs %v", scs)
	}
	if scs[1].ScrapeInterval != config.Duration(30*time.Second) {
		t.Fatal("included job did not inherit the global interval")
	}
	if scs[1].HTTPClientConfig.TLSConfig.CAFile != filepath.Join(dir, "jobs", "ca.pem") {
		t.Fatalf("included paths are relative to the included file, got %s", scs[1].HTTPClientConfig.TLSConfig.CAFile)
	}
	write("jobs/c.yml", "scrape_configs:\n- job_name: main\n")
	if _, err := cfg.GetScrapeConfigs(); err == nil || !strings.Contains(err.Error(), `found multiple scrape configs with job name "main", first found in main config file`) {
		t.Fatalf("duplicate across files: %v", err)
	}
}

func TestAgentMode(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{
		"alerting":    "alerting:\n  alertmanagers:\n  - static_configs: [{targets: ['a:1']}]\n",
		"rule_files":  "rule_files: [a.yml]\n",
		"remote_read": "remote_read:\n- url: http://x/\n",
	} {
		path := filepath.Join(dir, name+".yml")
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := config.LoadFile(path, true, nil); err == nil || !strings.Contains(err.Error(), "field "+name+" is not allowed in agent mode") {
			t.Errorf("%s in agent mode: %v", name, err)
		}
		if _, err := config.LoadFile(path, false, nil); err != nil {
			t.Errorf("%s in server mode: %v", name, err)
		}
	}
}

// A runtime block that sets only some fields keeps the defaults of the
// others; gogc 0 would make the server's collector run continuously.
func TestRuntimePartialBlockKeepsDefaults(t *testing.T) {
	t.Setenv("GOGC", "")
	cfg, err := config.Load("runtime:\n  log_level: debug\n", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Runtime.GoGC != config.DefaultGoGCPercentage || cfg.Runtime.LogLevel != "debug" {
		t.Fatalf("runtime = %+v, want gogc %d and log_level debug", cfg.Runtime, config.DefaultGoGCPercentage)
	}
	cfg, err = config.Load("runtime:\n  gogc: 50\n", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Runtime.GoGC != 50 || cfg.Runtime.LogLevel != "info" {
		t.Fatalf("runtime = %+v, want gogc 50 and log_level info", cfg.Runtime)
	}
}
