package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/alecthomas/units"

	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

// serverFlags are the flags of `vigil server`, named and defaulted as
// Prometheus' so that existing command lines, unit files and Helm charts
// keep working.
type serverFlags struct {
	configFile      string
	configFileSet   bool // given on the command line, not defaulted
	listenAddress   string
	externalURL     string
	routePrefix     string
	enableLifecycle bool
	enableAdminAPI  bool
	enableRWReceive bool
	maxConnections  int
	readTimeout     promDuration
	webConfigFile   string
	corsOrigin      string

	tsdbPath      string
	retentionTime promDuration
	retentionSet  bool
	retentionSize units.Base2Bytes
	// minBlockDuration and maxBlockDuration are Prometheus' hidden
	// block range flags; 0 leaves the TSDB's default (2h, and a tenth of
	// the retention at most 31 days), as in a serverFlags built by hand.
	minBlockDuration promDuration
	minBlockSet      bool
	maxBlockDuration promDuration

	queryTimeout        promDuration
	queryMaxConcurrency int
	queryMaxSamples     int
	lookbackDelta       promDuration

	// features are the raw values of --enable-feature; parseFeatures
	// reads them once the logger exists.
	features []string

	logLevel  string
	logFormat string

	autoGoMemLimit      bool
	autoGoMemLimitRatio float64

	// all maps every flag of the command to its value as given or
	// defaulted, for /api/v1/status/flags.
	all func() map[string]string
}

// promDuration is a flag value in Prometheus' duration syntax ("15d",
// "1h30m"), which Go's time.ParseDuration does not accept.
type promDuration time.Duration

func (d *promDuration) Set(s string) error {
	v, err := parser.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = promDuration(v)
	return nil
}

func (d *promDuration) String() string { return parser.FormatDuration(time.Duration(*d)) }

func (c *commands) registerServer(app *kingpin.Application) {
	cmd := app.Command("server", "Run the monitoring server: scraping, storage, PromQL and the HTTP API (the default command).").Default()
	f := &serverFlags{}
	cmd.Flag("config.file", "Configuration file path. Without it and without a prometheus.yml in the working directory, an embedded configuration that scrapes the server itself is used.").
		Default("prometheus.yml").IsSetByUser(&f.configFileSet).StringVar(&f.configFile)
	cmd.Flag("web.listen-address", "Address to listen on for the UI, API and telemetry.").Default(":9090").StringVar(&f.listenAddress)
	cmd.Flag("web.external-url", "The URL under which the server is reached from outside (for example behind a reverse proxy). Its path is the default route prefix. Default: http://<hostname>:<port>/.").
		StringVar(&f.externalURL)
	cmd.Flag("web.route-prefix", "Prefix of the internal routes. Defaults to the path of --web.external-url.").StringVar(&f.routePrefix)
	cmd.Flag("web.enable-lifecycle", "Enable shutdown and reload via HTTP request (/-/quit, /-/reload).").BoolVar(&f.enableLifecycle)
	cmd.Flag("web.enable-admin-api", "Enable the admin endpoints (/api/v1/admin/...).").BoolVar(&f.enableAdminAPI)
	cmd.Flag("web.enable-remote-write-receiver", "Enable the remote write receiver at /api/v1/write. Accepted for compatibility: the receiver is not implemented yet and the endpoint answers 404.").
		BoolVar(&f.enableRWReceive)
	cmd.Flag("web.max-connections", "Maximum number of simultaneous connections across all listeners (0: no limit).").Default("512").IntVar(&f.maxConnections)
	cmd.Flag("web.read-timeout", "Maximum duration before timing out read of the request, and closing idle connections.").Default("5m").SetValue(&f.readTimeout)
	cmd.Flag("web.config.file", "Path to a configuration file that can enable TLS or basic authentication (exporter-toolkit format).").StringVar(&f.webConfigFile)
	cmd.Flag("web.cors.origin", `Regex for CORS origin. It is fully anchored. Example: 'https?://(domain1|domain2)\.com'`).Default(".*").StringVar(&f.corsOrigin)
	cmd.Flag("storage.tsdb.path", "Base path for metrics storage.").Default("data/").StringVar(&f.tsdbPath)
	cmd.Flag("storage.tsdb.retention.time", "How long to retain samples in storage. If neither this nor --storage.tsdb.retention.size is set, it defaults to 15d. Units: y, w, d, h, m, s, ms.").
		IsSetByUser(&f.retentionSet).SetValue(&f.retentionTime)
	cmd.Flag("storage.tsdb.retention.size", "Maximum number of bytes that can be stored for blocks (0: no limit). Units: B, KB, MB, GB, TB, PB, EB (powers of 2).").
		Default("0").BytesVar(&f.retentionSize)
	// Hidden as in Prometheus: they are for benchmarks and tests, which
	// need blocks and compaction within minutes.
	cmd.Flag("storage.tsdb.min-block-duration", "Range of the blocks written from the head; leveled compaction merges them into ranges of this times powers of 3.").
		Hidden().Default("2h").IsSetByUser(&f.minBlockSet).SetValue(&f.minBlockDuration)
	cmd.Flag("storage.tsdb.max-block-duration", "Longest range leveled compaction builds. Default: 10% of the retention time, at most 31d.").
		Hidden().PlaceHolder("<duration>").SetValue(&f.maxBlockDuration)
	cmd.Flag("query.timeout", "Maximum time a query may take before being aborted.").Default("2m").SetValue(&f.queryTimeout)
	cmd.Flag("query.max-concurrency", "Maximum number of queries executed concurrently.").Default("20").IntVar(&f.queryMaxConcurrency)
	cmd.Flag("query.max-samples", "Maximum number of samples a single query can load into memory. Note that queries will fail if they try to load more samples than this into memory, so this also limits the number of samples a query can return.").
		Default("50000000").IntVar(&f.queryMaxSamples)
	cmd.Flag("query.lookback-delta", "The maximum lookback duration for retrieving metrics during expression evaluations and federation.").Default("5m").SetValue(&f.lookbackDelta)
	cmd.Flag("enable-feature", "Comma separated feature names to enable, as Prometheus' flag. Applied or always on: "+featureNames()+". Prometheus' other options are accepted with a warning that Vigil ignores them.").
		StringsVar(&f.features)
	cmd.Flag("auto-gomemlimit", "Set GOMEMLIMIT to --auto-gomemlimit.ratio times the memory limit of the process' cgroup, or of the machine when there is none, so that the garbage collector works harder before the process reaches the limit. An explicit GOMEMLIMIT environment variable wins. The collector's GOGC comes from the configuration's runtime.gogc (default 75, or the GOGC environment variable).").
		Default("true").BoolVar(&f.autoGoMemLimit)
	cmd.Flag("auto-gomemlimit.ratio", "The share of the detected memory limit that --auto-gomemlimit sets GOMEMLIMIT to, greater than 0 and at most 1.").
		Default("0.9").FloatVar(&f.autoGoMemLimitRatio)
	cmd.Flag("log.level", "Only log messages with the given severity or above. One of: [debug, info, warn, error]").Default("info").EnumVar(&f.logLevel, "debug", "info", "warn", "error")
	cmd.Flag("log.format", "Output format of log messages. One of: [logfmt, json]").Default("logfmt").EnumVar(&f.logFormat, "logfmt", "json")
	f.all = func() map[string]string {
		m := map[string]string{}
		for _, fl := range cmd.Model().Flags {
			m[fl.Name] = fl.Value.String()
		}
		return m
	}
	c.server = f
	c.actions[cmd.FullCommand()] = func() int { return c.runServerCommand(f) }
}

// newLogger builds the slog logger the flags ask for.
func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lvl slog.Level
	switch level {
	case "debug":
		lvl = slog.LevelDebug
	case "warn":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	default:
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// runServerCommand runs the server until SIGTERM or SIGINT (or /-/quit),
// reloading the configuration on SIGHUP.
func (c *commands) runServerCommand(f *serverFlags) int {
	logger := newLogger(c.stderr, f.logLevel, f.logFormat)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-hup:
				select {
				case reload <- struct{}{}:
				default:
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	s, err := newServer(f, logger)
	if err != nil {
		logger.Error("Starting the server failed", "err", err)
		return exitFailure
	}
	if err := s.run(ctx, reload); err != nil {
		logger.Error("Server stopped with an error", "err", err)
		return exitFailure
	}
	return exitSuccess
}

// validate checks flag combinations kingpin cannot.
func (f *serverFlags) validate() error {
	if f.queryMaxConcurrency < 1 {
		return errors.New("--query.max-concurrency must be at least 1")
	}
	if f.autoGoMemLimitRatio <= 0 || f.autoGoMemLimitRatio > 1 {
		return fmt.Errorf("--auto-gomemlimit.ratio %v must be greater than 0 and at most 1", f.autoGoMemLimitRatio)
	}
	if f.minBlockSet && f.minBlockDuration <= 0 {
		return fmt.Errorf("--storage.tsdb.min-block-duration %s must be greater than 0", &f.minBlockDuration)
	}
	minBlock := f.minBlockDuration
	if minBlock == 0 {
		minBlock = promDuration(2 * time.Hour)
	}
	if f.maxBlockDuration != 0 && f.maxBlockDuration < minBlock {
		return fmt.Errorf("--storage.tsdb.max-block-duration %s must be at least --storage.tsdb.min-block-duration %s", &f.maxBlockDuration, &minBlock)
	}
	if f.routePrefix != "" && !strings.HasPrefix(f.routePrefix, "/") {
		return fmt.Errorf("--web.route-prefix %q must start with a slash", f.routePrefix)
	}
	return nil
}

// retention returns the time and size retention after Prometheus' rule:
// 15 days when neither is set.
func (f *serverFlags) retention() (time.Duration, int64) {
	d := time.Duration(f.retentionTime)
	if !f.retentionSet && f.retentionSize == 0 {
		d = 15 * 24 * time.Hour
	}
	return d, int64(f.retentionSize)
}

// retentionString describes the retention for /status/runtimeinfo, as
// Prometheus does: "15d", "512MiB" or "15d or 512MiB".
func (f *serverFlags) retentionString() string {
	d, size := f.retention()
	var parts []string
	if d > 0 {
		pd := promDuration(d)
		parts = append(parts, pd.String())
	}
	if size > 0 {
		parts = append(parts, units.Base2Bytes(size).String())
	}
	return strings.Join(parts, " or ")
}
