package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/vigil-monitoring/vigil/internal/config"
	"github.com/vigil-monitoring/vigil/internal/discovery"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/promql"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
	"github.com/vigil-monitoring/vigil/internal/scrape"
	"github.com/vigil-monitoring/vigil/internal/tsdb"
	"github.com/vigil-monitoring/vigil/internal/version"
	"github.com/vigil-monitoring/vigil/internal/web"
	"github.com/vigil-monitoring/vigil/internal/web/api"

	// Service discovery mechanisms; the configuration knows them through
	// their registration.
	_ "github.com/vigil-monitoring/vigil/internal/discovery/dns"
	_ "github.com/vigil-monitoring/vigil/internal/discovery/file"
	_ "github.com/vigil-monitoring/vigil/internal/discovery/http"
)

// server is one running Vigil server: storage, scraping, discovery, the
// query engine and the web surface, started and stopped as a group.
type server struct {
	flags  *serverFlags
	logger *slog.Logger
	reg    *prometheus.Registry

	storage   *readyStorage
	engine    *promql.Engine
	scrape    *scrape.Manager
	discovery *discovery.Manager
	handler   *web.Handler
	listener  *web.Server

	// config is the configuration source and the configuration in force.
	config configSource
	cfg    atomic.Pointer[config.Config]
	// reloadMu serializes reloads (SIGHUP and /-/reload may race).
	reloadMu sync.Mutex
	// queryLogPath is the query log file in force; guarded by reloadMu.
	queryLogPath string

	started    time.Time
	ready      atomic.Bool
	quit       chan struct{}
	quitOnce   sync.Once
	metrics    serverMetrics
	reloadOK   atomic.Bool
	lastReload atomic.Pointer[time.Time]

	// discoveryUpdateDelay is discovery's debounce interval; tests shorten
	// it. Zero means the discovery default.
	discoveryUpdateDelay time.Duration
}

type serverMetrics struct {
	reloadSuccess   prometheus.Gauge
	reloadTimestamp prometheus.Gauge
	ready           prometheus.Gauge
}

// newServer builds every component and opens the listener, so that the
// real address is known (with port 0) before the configuration, which
// may scrape the server itself, is read. Nothing runs yet.
func newServer(f *serverFlags, logger *slog.Logger) (_ *server, err error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	s := &server{flags: f, logger: logger, reg: prometheus.NewRegistry(), started: time.Now(), quit: make(chan struct{})}
	if f.autoGoMemLimit {
		setAutoMemLimit(f.autoGoMemLimitRatio, logger.With("component", "automemlimit"))
	}
	info := version.Get()
	s.registerMetrics(info)

	cors, err := regexp.Compile("^(?:" + f.corsOrigin + ")$")
	if err != nil {
		return nil, fmt.Errorf("--web.cors.origin: %w", err)
	}

	features := parseFeatures(f.features, logger)
	queryParser := parser.NewParser(features.parserOptions())

	s.storage = &readyStorage{progress: &tsdb.ReplayProgress{}}
	s.engine = promql.NewEngine(promql.EngineOpts{
		Parser:                   queryParser,
		Logger:                   logger.With("component", "query engine"),
		MaxSamples:               f.queryMaxSamples,
		Timeout:                  time.Duration(f.queryTimeout),
		MaxConcurrency:           f.queryMaxConcurrency,
		Registerer:               s.reg,
		LookbackDelta:            time.Duration(f.lookbackDelta),
		EnableAtModifier:         true,
		EnableNegativeOffset:     true,
		EnablePerStepStats:       features.perStepStats,
		EnableDelayedNameRemoval: features.delayedNameRemoval,
		// The API encodes a result before it closes its query.
		RecycleResults: true,
	})
	s.scrape, err = scrape.NewManager(s.storage, scrape.Options{
		Logger:     logger.With("component", "scrape manager"),
		Registerer: s.reg,
		Version:    info.Version,
	})
	if err != nil {
		return nil, err
	}

	// The listener comes first: the external URL and the self-scraping
	// default configuration need the real port.
	l, err := web.Listen(web.Options{
		ListenAddress:  f.listenAddress,
		ReadTimeout:    time.Duration(f.readTimeout),
		MaxConnections: f.maxConnections,
		WebConfigFile:  f.webConfigFile,
		Logger:         logger.With("component", "web"),
	})
	if err != nil {
		return nil, err
	}
	s.listener = l
	defer func() {
		if err != nil {
			l.Close()
		}
	}()
	ext, err := externalURL(f.externalURL, l.Addr())
	if err != nil {
		return nil, err
	}
	prefix := f.routePrefix
	if prefix == "" {
		prefix = ext.Path
	}
	prefix = "/" + strings.Trim(prefix, "/")

	if s.config, err = newConfigSource(f, l, prefix, logger); err != nil {
		return nil, err
	}
	// Fail before a possibly long WAL replay when the file is bad.
	if _, err = s.config.load(); err != nil {
		return nil, err
	}

	apiHandler := api.New(api.Options{
		Queryable:                 s.storage,
		QueryEngine:               s.engine,
		Parser:                    queryParser,
		Targets:                   api.ScrapeTargets(s.scrape),
		TSDB:                      s.storage,
		Admin:                     s.storage,
		EnableAdmin:               f.enableAdminAPI,
		DataDir:                   f.tsdbPath,
		Config:                    s.configText,
		Flags:                     f.all(),
		Runtime:                   s.runtimeStatus,
		StartTime:                 s.started,
		StorageRetention:          f.retentionString(),
		BuildInfo:                 info,
		Ready:                     s.ready.Load,
		CORSOrigin:                cors,
		EnableRemoteWriteReceiver: f.enableRWReceive,
		ExternalURL:               ext,
		ListenAddress:             l.Addr().String(),
		Logger:                    logger.With("component", "api"),
	})
	s.handler = web.New(web.Options{
		ListenAddress:   f.listenAddress,
		ExternalURL:     ext,
		RoutePrefix:     prefix,
		EnableLifecycle: f.enableLifecycle,
		API:             apiHandler,
		Queryable:       s.storage,
		LookbackDelta:   time.Duration(f.lookbackDelta),
		ExternalLabels:  s.externalLabels,
		Gatherer:        s.reg,
		Registerer:      s.reg,
		Ready:           s.ready.Load,
		Reload:          s.reload,
		Quit:            s.requestQuit,
		Logger:          logger.With("component", "web"),
	})
	l.SetHandler(s.handler)
	return s, nil
}

// registerMetrics creates the server's own metrics: build information,
// reload outcome, readiness, and the Go runtime and process collectors.
func (s *server) registerMetrics(info version.Info) {
	s.reg.MustRegister(collectors.NewGoCollector(), newProcessCollector())
	buildLabels := prometheus.Labels{
		"version": info.Version, "revision": info.Revision, "branch": info.Branch,
		"goversion": info.GoVersion, "goos": runtime.GOOS, "goarch": runtime.GOARCH,
	}
	// prometheus_build_info keeps dashboards built for Prometheus working;
	// vigil_build_info lets a dashboard tell the two apart.
	for _, name := range []string{"prometheus_build_info", "vigil_build_info"} {
		s.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        name,
			Help:        "A metric with a constant '1' value labeled by version, revision, branch, goversion from which the server was built, and the goos and goarch for the build.",
			ConstLabels: buildLabels,
		}, func() float64 { return 1 }))
	}
	s.metrics = serverMetrics{
		reloadSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "prometheus_config_last_reload_successful",
			Help: "Whether the last configuration reload attempt was successful.",
		}),
		reloadTimestamp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "prometheus_config_last_reload_success_timestamp_seconds",
			Help: "Timestamp of the last successful configuration reload.",
		}),
		ready: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "prometheus_ready",
			Help: "Whether the server startup was fully completed and the server is ready for normal operation.",
		}),
	}
	s.reg.MustRegister(s.metrics.reloadSuccess, s.metrics.reloadTimestamp, s.metrics.ready)
}

// externalURL derives the URL users reach the server at: the flag, or
// http://<hostname>:<port>/.
func externalURL(flag string, addr net.Addr) (*url.URL, error) {
	if flag == "" {
		host, err := os.Hostname()
		if err != nil {
			return nil, err
		}
		_, port, err := net.SplitHostPort(addr.String())
		if err != nil {
			return nil, err
		}
		flag = "http://" + net.JoinHostPort(host, port) + "/"
	}
	if strings.HasPrefix(flag, "\"") || strings.HasPrefix(flag, "'") {
		return nil, errors.New("--web.external-url must not start with a quote")
	}
	u, err := url.Parse(flag)
	if err != nil {
		return nil, fmt.Errorf("--web.external-url: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("--web.external-url %q: scheme must be http or https", flag)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u, nil
}

// run serves until ctx ends or /-/quit is requested, reloading the
// configuration whenever reload delivers. It returns after a graceful
// shutdown: scraping stopped, the database closed, the listener closed.
func (s *server) run(ctx context.Context, reload <-chan struct{}) error {
	serveErr := make(chan error, 1)
	go func() { serveErr <- s.listener.Serve() }()
	defer s.shutdownWeb()

	s.logger.Info("Starting Vigil", "version", version.Get().Version, "storage", s.flags.tsdbPath)
	db, err := s.openDB()
	if err != nil {
		return err
	}
	s.storage.set(db)
	s.logger.Info("TSDB started")

	discCtx, stopDiscovery := context.WithCancel(context.Background())
	s.discovery = discovery.NewManager(discovery.ManagerOptions{
		Name:        "scrape",
		Logger:      s.logger.With("component", "discovery manager scrape"),
		Registerer:  s.reg,
		UpdateDelay: s.discoveryUpdateDelay,
	})
	var wg sync.WaitGroup
	// Target sets reach the scrape manager through a forwarder that makes
	// one last hand-over when discovery stops. That hand-over can only
	// complete once Run is in its loop, which orders Run's start before
	// Stop: scrape.Manager's Run and Stop race when Stop comes first.
	tsets := make(chan map[string][]*discovery.TargetGroup)
	forwarded := make(chan struct{})
	stopAll := func() {
		s.ready.Store(false)
		s.metrics.ready.Set(0)
		stopDiscovery()
		<-forwarded
		s.logger.Info("Stopping scrape manager...")
		s.scrape.Stop()
		wg.Wait()
		_ = s.engine.Close()
		if err := db.Close(); err != nil {
			s.logger.Error("Closing the database failed", "err", err)
		}
		s.logger.Info("See you next time!")
	}
	wg.Go(func() { _ = s.scrape.Run(tsets) })
	go func() {
		defer close(forwarded)
		latest := map[string][]*discovery.TargetGroup{}
		for {
			select {
			case ts := <-s.discovery.SyncCh():
				latest = ts
				tsets <- ts
			case <-discCtx.Done():
				tsets <- latest
				return
			}
		}
	}()
	if err := s.reload(); err != nil {
		stopAll()
		return fmt.Errorf("loading configuration: %w", err)
	}
	wg.Go(func() { _ = s.discovery.Run(discCtx) })

	s.ready.Store(true)
	s.metrics.ready.Set(1)
	s.logger.Info("Server is ready to receive web requests.")

	var runErr error
loop:
	for {
		select {
		case <-ctx.Done():
			s.logger.Warn("Received termination request, exiting gracefully...")
			break loop
		case <-s.quit:
			s.logger.Warn("Received termination request via web service, exiting gracefully...")
			break loop
		case <-reload:
			if err := s.reload(); err != nil {
				s.logger.Error("Error reloading config", "err", err)
			}
		case err := <-serveErr:
			runErr = fmt.Errorf("web server: %w", err)
			break loop
		}
	}
	stopAll()
	return runErr
}

func (s *server) openDB() (*tsdb.DB, error) {
	opts := tsdb.DefaultOptions()
	opts.Logger = s.logger.With("component", "tsdb")
	opts.Registerer = s.reg
	opts.ReplayProgress = s.storage.progress
	// The DB enforces retention in its background loop, after each
	// compaction and every minute.
	opts.RetentionDuration, opts.MaxBytes = s.flags.retention()
	opts.MinBlockDuration, opts.MaxBlockDuration = time.Duration(s.flags.minBlockDuration), time.Duration(s.flags.maxBlockDuration)
	db, err := tsdb.Open(s.flags.tsdbPath, opts)
	if err != nil {
		return nil, fmt.Errorf("opening storage: %w", err)
	}
	return db, nil
}

func (s *server) shutdownWeb() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.listener.Shutdown(ctx); err != nil {
		s.logger.Warn("Web server shutdown did not complete", "err", err)
	}
}

func (s *server) requestQuit() { s.quitOnce.Do(func() { close(s.quit) }) }

// externalLabels are those of the configuration in force.
func (s *server) externalLabels() labels.Labels {
	if cfg := s.cfg.Load(); cfg != nil {
		return cfg.GlobalConfig.ExternalLabels
	}
	return labels.EmptyLabels()
}

func (s *server) configText() string {
	if cfg := s.cfg.Load(); cfg != nil {
		return cfg.String()
	}
	return ""
}

func (s *server) runtimeStatus() api.RuntimeStatus {
	st := api.RuntimeStatus{ReloadConfigSuccess: s.reloadOK.Load()}
	if t := s.lastReload.Load(); t != nil {
		st.LastConfigTime = *t
	}
	if mfs, err := s.reg.Gather(); err == nil {
		for _, mf := range mfs {
			if mf.GetName() == "prometheus_tsdb_wal_corruptions_total" && len(mf.Metric) > 0 {
				st.CorruptionCount = int64(mf.Metric[0].GetCounter().GetValue())
			}
		}
	}
	return st
}

// portOf returns the port of a listener address.
func portOf(addr net.Addr) string {
	if ta, ok := addr.(*net.TCPAddr); ok {
		return strconv.Itoa(ta.Port)
	}
	_, port, _ := net.SplitHostPort(addr.String())
	return port
}
