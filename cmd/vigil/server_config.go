package main

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"text/template"
	"time"

	"github.com/vigil-monitoring/vigil/internal/config"
	"github.com/vigil-monitoring/vigil/internal/discovery"
	"github.com/vigil-monitoring/vigil/internal/web"
)

//go:embed default_config.yml
var defaultConfigTemplate string

// configSource loads the configuration: the file, or the embedded default
// that scrapes the server itself.
type configSource struct {
	// file is the configuration file; empty means the embedded default.
	file     string
	embedded string
	logger   *slog.Logger
}

// newConfigSource decides where the configuration comes from. An explicit
// --config.file is always used (and must exist); the default
// prometheus.yml is used when present; otherwise the embedded
// configuration is filled in with the listener's port, scheme and route
// prefix.
func newConfigSource(f *serverFlags, l *web.Server, prefix string, logger *slog.Logger) (configSource, error) {
	src := configSource{file: f.configFile, logger: logger}
	if f.configFileSet {
		return src, nil
	}
	if _, err := os.Stat(f.configFile); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return src, nil
	}
	metricsPath := "/metrics"
	if prefix != "/" {
		metricsPath = prefix + "/metrics"
	}
	text, err := renderDefaultConfig(metricsPath, portOf(l.Addr()), l.TLS())
	if err != nil {
		return configSource{}, err
	}
	logger.Info("No configuration file given and no prometheus.yml in the working directory: running the embedded default configuration, which scrapes this server itself",
		"job", "prometheus", "target", "localhost:"+portOf(l.Addr()), "scrape_interval", "15s")
	if f.webConfigFile != "" {
		logger.Warn("The embedded configuration cannot authenticate to this server; if --web.config.file requires basic authentication, the self-scrape will fail")
	}
	return configSource{embedded: text, logger: logger}, nil
}

// renderDefaultConfig fills the embedded configuration in for a server
// listening on port, serving /metrics at metricsPath, over TLS or not.
func renderDefaultConfig(metricsPath, port string, tls bool) (string, error) {
	tmpl, err := template.New("default_config.yml").Parse(defaultConfigTemplate)
	if err != nil {
		return "", err
	}
	scheme := "http"
	if tls {
		scheme = "https"
	}
	var buf bytes.Buffer
	err = tmpl.Execute(&buf, struct {
		Scheme, MetricsPath, Port string
		TLS                       bool
	}{scheme, metricsPath, port, tls})
	return buf.String(), err
}

// name is how logs and errors refer to the source.
func (c configSource) name() string {
	if c.file != "" {
		return c.file
	}
	return "<embedded default configuration>"
}

// load reads and validates the configuration without applying it.
func (c configSource) load() (*config.Config, error) {
	if c.file == "" {
		return config.Load(c.embedded, "", c.logger)
	}
	abs, err := filepath.Abs(c.file)
	if err != nil {
		abs = c.file
	}
	cfg, err := config.LoadFile(abs, false, c.logger)
	if err != nil {
		return nil, fmt.Errorf("couldn't load configuration (--config.file=%q): %w", c.file, err)
	}
	return cfg, nil
}

// reload loads the configuration and applies it to scraping and
// discovery. A configuration that does not load is rejected as a whole
// and the running one stays; the reload metrics record the outcome.
func (s *server) reload() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	start := time.Now()
	err := s.applyConfig()
	if err != nil {
		s.metrics.reloadSuccess.Set(0)
		s.reloadOK.Store(false)
		s.logger.Error("Loading configuration failed", "file", s.config.name(), "err", err)
		return err
	}
	now := time.Now()
	s.metrics.reloadSuccess.Set(1)
	s.metrics.reloadTimestamp.Set(float64(now.Unix()))
	s.reloadOK.Store(true)
	s.lastReload.Store(&now)
	s.logger.Info("Completed loading of configuration file", "file", s.config.name(), "totalDuration", time.Since(start))
	return nil
}

func (s *server) applyConfig() error {
	cfg, err := s.config.load()
	if err != nil {
		return err
	}
	// Everything that can fail on the new configuration is checked before
	// any component sees it, so a failure leaves the old one in force.
	scfgs, err := cfg.GetScrapeConfigs()
	if err != nil {
		return fmt.Errorf("scrape configurations of %s: %w", s.config.name(), err)
	}
	if err := s.applyQueryLog(cfg.GlobalConfig.QueryLogFile); err != nil {
		return err
	}
	applyGoGC(cfg.Runtime.GoGC, s.logger)
	if db := s.storage.db.Load(); db != nil {
		db.SetOutOfOrderTimeWindow(cfg.StorageConfig.TSDBConfig.OutOfOrderTimeWindow)
	}
	sets := make(map[string]discovery.Configs, len(scfgs))
	for _, sc := range scfgs {
		sets[sc.JobName] = sc.ServiceDiscoveryConfigs
	}
	if err := s.scrape.ApplyConfig(cfg); err != nil {
		// Pools that failed keep their old settings; the new
		// configuration is in force everywhere else.
		s.cfg.Store(cfg)
		_ = s.discovery.ApplyConfig(sets)
		return fmt.Errorf("applying scrape configuration: %w", err)
	}
	if err := s.discovery.ApplyConfig(sets); err != nil {
		s.cfg.Store(cfg)
		return fmt.Errorf("applying discovery configuration: %w", err)
	}
	s.cfg.Store(cfg)
	return nil
}
