// Package web owns Vigil's HTTP surface around the API: the router with
// the route prefix, the lifecycle endpoints (/-/healthy, /-/ready,
// /-/reload, /-/quit), /metrics, /debug/pprof, /federate, the web UI's
// pages and assets (package web/ui), response compression, request
// metrics, and the listener itself with
// --web.max-connections, --web.read-timeout and the TLS and basic
// authentication of --web.config.file.
//
// The HTTP API v1 is package web/api; web mounts it under /api/v1. What
// the lifecycle endpoints do (reloading the configuration, shutting down)
// is the command's business: web only calls the functions it is given.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/web/ui"
)

// Options configure a Handler.
type Options struct {
	// ListenAddress is the --web.listen-address.
	ListenAddress string
	// ExternalURL is where users reach the server; its path is the default
	// route prefix.
	ExternalURL *url.URL
	// RoutePrefix is the path every endpoint lives under ("/" or
	// "/prefix").
	RoutePrefix string
	// ReadTimeout bounds reading a whole request; MaxConnections bounds
	// concurrent connections (0: unlimited).
	ReadTimeout    time.Duration
	MaxConnections int
	// WebConfigFile is the --web.config.file; empty means plain HTTP
	// without authentication.
	WebConfigFile string
	// EnableLifecycle allows /-/reload and /-/quit over HTTP.
	EnableLifecycle bool

	// API serves /api/v1 with the prefix stripped.
	API http.Handler
	// Queryable, LookbackDelta and ExternalLabels serve /federate.
	Queryable      storage.Queryable
	LookbackDelta  time.Duration
	ExternalLabels func() labels.Labels
	// Gatherer serves /metrics; Registerer receives the handler's own
	// metrics. Either may be nil.
	Gatherer   prometheus.Gatherer
	Registerer prometheus.Registerer

	// Ready reports whether the storage is open (/-/ready, and a gate on
	// /federate). Reload reloads the configuration. Quit starts a graceful
	// shutdown. All three are required.
	Ready  func() bool
	Reload func() error
	Quit   func()

	Logger *slog.Logger
}

// Handler is the root HTTP handler.
type Handler struct {
	opts    Options
	logger  *slog.Logger
	mux     *http.ServeMux
	root    http.Handler
	now     func() time.Time
	metrics *httpMetrics
	// quitting makes repeated /-/quit requests harmless.
	quitting atomic.Bool

	federationErrors prometheus.Counter
}

// New builds the handler.
func New(opts Options) *Handler {
	h := &Handler{opts: opts, logger: opts.Logger, mux: http.NewServeMux(), now: time.Now}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	h.metrics = newHTTPMetrics(opts.Registerer)
	h.federationErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "prometheus_web_federation_errors_total",
		Help: "Total number of errors that occurred while sending federation responses.",
	})
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(h.federationErrors)
	}
	prefix := strings.TrimRight(opts.RoutePrefix, "/")

	route := func(pattern, name string, hf http.Handler) {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			method, path = "", pattern
		}
		full := prefix + path
		if method != "" {
			full = method + " " + full
		}
		h.mux.Handle(full, h.metrics.instrument(name, hf))
	}

	// GET patterns also match HEAD.
	route("GET /-/healthy", "/-/healthy", http.HandlerFunc(h.healthy))
	route("GET /-/ready", "/-/ready", http.HandlerFunc(h.ready))
	route("POST /-/reload", "/-/reload", http.HandlerFunc(h.reload))
	route("PUT /-/reload", "/-/reload", http.HandlerFunc(h.reload))
	route("POST /-/quit", "/-/quit", http.HandlerFunc(h.quit))
	route("PUT /-/quit", "/-/quit", http.HandlerFunc(h.quit))

	if opts.Gatherer != nil {
		// promhttp negotiates the format; compression is ours, at gzip's
		// fastest level: at promhttp's default level compressing the
		// server's own metrics cost about 45% of each scrape of /metrics,
		// which the server's self-scrape pays every interval.
		route("GET /metrics", "/metrics", compress(promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{
			ErrorLog:           slog.NewLogLogger(h.logger.Handler(), slog.LevelError),
			EnableOpenMetrics:  true,
			DisableCompression: true,
		})))
	}
	route("GET /federate", "/federate", compress(h.whenReady(http.HandlerFunc(h.federate))))

	api := http.StripPrefix(prefix+"/api/v1", compress(opts.API))
	if named, ok := opts.API.(interface{ Route(string) string }); ok {
		// One metrics label per API endpoint, as dashboards expect.
		h.mux.Handle(prefix+"/api/v1/", h.metrics.instrumentFunc(func(r *http.Request) string {
			return named.Route(strings.TrimPrefix(r.URL.Path, prefix+"/api/v1"))
		}, api))
	} else {
		route("/api/v1/", "/api/v1", api)
	}

	route("GET /debug/pprof/", "/debug/pprof", http.StripPrefix(prefix, http.HandlerFunc(pprof.Index)))
	route("GET /debug/pprof/cmdline", "/debug/pprof", http.HandlerFunc(pprof.Cmdline))
	route("GET /debug/pprof/profile", "/debug/pprof", http.HandlerFunc(pprof.Profile))
	route("GET /debug/pprof/symbol", "/debug/pprof", http.HandlerFunc(pprof.Symbol))
	route("POST /debug/pprof/symbol", "/debug/pprof", http.HandlerFunc(pprof.Symbol))
	route("GET /debug/pprof/trace", "/debug/pprof", http.HandlerFunc(pprof.Trace))

	h.routeUI(prefix, route)

	h.root = h.mux
	return h
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.root.ServeHTTP(w, r) }

func (h *Handler) healthy(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		fmt.Fprintln(w, "Vigil Server is Healthy.")
	}
}

func (h *Handler) ready(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if !h.opts.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		if r.Method == http.MethodGet {
			fmt.Fprintln(w, "Service Unavailable")
		}
		return
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		fmt.Fprintln(w, "Vigil Server is Ready.")
	}
}

// whenReady answers 503 until the storage is open.
func (h *Handler) whenReady(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.opts.Ready() {
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) reload(w http.ResponseWriter, _ *http.Request) {
	if !h.opts.EnableLifecycle {
		http.Error(w, "Lifecycle API is not enabled.", http.StatusForbidden)
		return
	}
	if err := h.opts.Reload(); err != nil {
		http.Error(w, fmt.Sprintf("failed to reload config: %s", err), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (h *Handler) quit(w http.ResponseWriter, _ *http.Request) {
	if !h.opts.EnableLifecycle {
		http.Error(w, "Lifecycle API is not enabled.", http.StatusForbidden)
		return
	}
	if h.quitting.Swap(true) {
		fmt.Fprintln(w, "Termination already in progress.")
		return
	}
	fmt.Fprintln(w, "Requesting termination... Goodbye!")
	h.opts.Quit()
}

// routeUI mounts the web UI: index.html for each page route, the assets,
// and redirects from the bare prefix (and the bare host) to the query page.
func (h *Handler) routeUI(prefix string, route func(string, string, http.Handler)) {
	// The redirect goes where the browser reaches the server: under the
	// external URL's path, which differs from the route prefix behind a
	// proxy that strips it.
	home := prefix + "/query"
	if u := h.opts.ExternalURL; u != nil {
		home = strings.TrimRight(u.Path, "/") + "/query"
	}
	redirect := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, home, http.StatusFound)
	})
	route("GET /{$}", "/", redirect)
	if prefix != "" {
		// The bare host and the prefix without its slash lead in too.
		h.mux.Handle("GET /{$}", redirect)
		h.mux.Handle("GET "+prefix, redirect)
	}
	site, err := ui.New(prefix)
	if err != nil {
		// Only a broken build gets here (the package's tests catch it);
		// the API and everything else still work.
		h.logger.Error("Web UI unavailable", "err", err)
		broken := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "The web UI is unavailable: "+err.Error(), http.StatusInternalServerError)
		})
		route("GET /assets/", "/assets", broken)
		for _, p := range ui.Pages {
			route("GET /"+p, "/"+p, broken)
		}
		return
	}
	route("GET /assets/", "/assets", http.HandlerFunc(site.ServeAsset))
	index := http.HandlerFunc(site.ServeIndex)
	for _, p := range ui.Pages {
		route("GET /"+p, "/"+p, index)
	}
}

// Server is the listening HTTP server.
type Server struct {
	srv      *http.Server
	listener net.Listener
	tls      bool
	logger   *slog.Logger
	// webConfig adds basic authentication and headers; nil without
	// --web.config.file.
	webConfig *webConfigSource
}

// Listen opens the listener (limited to opts.MaxConnections) and prepares
// TLS and authentication from opts.WebConfigFile. It fails when the web
// configuration is invalid, so a typo does not leave the server open.
// Call SetHandler before Serve.
func Listen(opts Options) (*Server, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{
		ReadTimeout: opts.ReadTimeout,
		ErrorLog:    slog.NewLogLogger(logger.Handler(), slog.LevelError),
	}
	s := &Server{srv: srv, logger: logger}
	if opts.WebConfigFile != "" {
		src, err := newWebConfigSource(opts.WebConfigFile)
		if err != nil {
			return nil, err
		}
		cfg, _ := src.get()
		s.webConfig = src
		if cfg.TLSEnabled() {
			// Check the certificate now rather than at the first client.
			if _, err := cfg.tlsConfig(); err != nil {
				return nil, fmt.Errorf("web config %s: %w", opts.WebConfigFile, err)
			}
			srv.TLSConfig = src.serverTLSConfig()
			s.tls = true
		}
		if !cfg.HTTP2Enabled() {
			srv.Protocols = new(http.Protocols)
			srv.Protocols.SetHTTP1(true)
		}
	}
	l, err := net.Listen("tcp", opts.ListenAddress)
	if err != nil {
		return nil, err
	}
	s.listener = LimitListener(l, opts.MaxConnections)
	return s, nil
}

// SetHandler installs the handler, behind authentication when the web
// configuration asks for it. Listening before the handler exists lets the
// caller learn the real port first.
func (s *Server) SetHandler(h http.Handler) {
	if s.webConfig != nil {
		h = s.webConfig.wrap(h, s.logger)
	}
	s.srv.Handler = h
}

// Addr returns the address the server listens on (with the real port
// when the configured one was 0).
func (s *Server) Addr() net.Addr { return s.listener.Addr() }

// TLS reports whether the server speaks HTTPS.
func (s *Server) TLS() bool { return s.tls }

// Serve serves until Shutdown; it returns nil after a shutdown.
func (s *Server) Serve() error {
	s.logger.Info("Listening on", "address", s.listener.Addr().String(), "tls", s.tls)
	var err error
	if s.tls {
		err = s.srv.ServeTLS(s.listener, "", "")
	} else {
		err = s.srv.Serve(s.listener)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close closes the listener of a server that never served.
func (s *Server) Close() error { return s.listener.Close() }

// Shutdown stops accepting connections and waits for running requests
// until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error { return s.srv.Shutdown(ctx) }
