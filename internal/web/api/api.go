// Package api owns the Prometheus-compatible HTTP API v1 (/api/v1/...):
// the routes and methods, parameter parsing (times, durations, match[]
// selectors, limits), the JSON envelope with its errorType values and
// status codes, the encoding of query results, and the handlers of every
// query, metadata, status and admin endpoint.
//
// It does not know the concrete components it serves. It declares the
// small interfaces it consumes (QueryEngine, TargetRetriever, TSDBStatus,
// TSDBAdmin, RulesRetriever, AlertmanagerRetriever) so that the command
// wires the real ones and tests can substitute fakes; adapters for the
// real scrape manager and TSDB are in interfaces.go. Routing by prefix,
// readiness of the whole server, compression and authentication are
// package web's business.
package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/vigil-monitoring/vigil/internal/promql"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/version"
)

// errorType is the errorType field of an error response.
type errorType string

const (
	errorBadData       errorType = "bad_data"
	errorExec          errorType = "execution"
	errorTimeout       errorType = "timeout"
	errorCanceled      errorType = "canceled"
	errorInternal      errorType = "internal"
	errorUnavailable   errorType = "unavailable"
	errorNotFound      errorType = "not_found"
	errorNotAcceptable errorType = "not_acceptable"
)

// statusClientClosedRequest is the code nginx made up for a client that
// went away; Prometheus answers canceled queries with it since 2.43.
const statusClientClosedRequest = 499

// httpStatus maps an errorType to its HTTP status. client_golang reads the
// body only for 2xx, 400 and 422, so these codes are part of the
// contract, not a detail.
func (t errorType) httpStatus() int {
	switch t {
	case errorBadData:
		return http.StatusBadRequest
	case errorExec:
		return http.StatusUnprocessableEntity
	case errorCanceled:
		return statusClientClosedRequest
	case errorTimeout:
		return http.StatusServiceUnavailable
	case errorNotFound:
		return http.StatusNotFound
	case errorNotAcceptable:
		return http.StatusNotAcceptable
	}
	return http.StatusInternalServerError
}

// apiError is a failed request: its errorType and message.
type apiError struct {
	typ errorType
	err error
}

func (e *apiError) Error() string { return string(e.typ) + ": " + e.err.Error() }

// result is what a handler returns. With err nil and data nil the
// response is 204 No Content.
type result struct {
	data any
	err  *apiError
	// warnings are the query annotations plus the handler's own
	// warnings (truncation, deprecated parameters).
	warnings promql.Annotations
	// query is the query text the annotations' positions refer to.
	query string
}

func badData(err error) result { return result{err: &apiError{errorBadData, err}} }

// invalidParam reports a parameter that does not parse, naming it.
func invalidParam(err error, name string) result {
	return badData(fmt.Errorf("invalid parameter %q: %w", name, err))
}

// Options are the components and settings the API serves.
type Options struct {
	// Queryable is the storage queries and metadata lookups read.
	Queryable storage.Queryable
	// QueryEngine evaluates PromQL.
	QueryEngine QueryEngine
	// Parser reads the queries of /format_query, /parse_query and
	// /query_exemplars; give it the engine's language features so that
	// these endpoints accept what /query accepts. nil means every feature.
	Parser *parser.Parser
	// Targets answers the target and metadata endpoints; nil serves no
	// targets.
	Targets TargetRetriever
	// TSDB answers /status/tsdb and /status/walreplay; nil makes them
	// fail with an unavailable error.
	TSDB TSDBStatus
	// Admin performs the admin operations when EnableAdmin is set; nil
	// means the storage supports none of them.
	Admin       TSDBAdmin
	EnableAdmin bool
	// DataDir is where snapshots go (<DataDir>/snapshots/<name>).
	DataDir string
	// Rules and Alertmanagers answer /rules, /alerts and /alertmanagers;
	// nil serves empty lists.
	Rules         RulesRetriever
	Alertmanagers AlertmanagerRetriever
	// Config returns the configuration file as served by /status/config
	// (secrets hidden).
	Config func() string
	// Flags are the command-line flags and their values.
	Flags map[string]string
	// Runtime returns the reload state for /status/runtimeinfo.
	Runtime func() RuntimeStatus
	// StartTime and StorageRetention are reported by /status/runtimeinfo.
	StartTime        time.Time
	StorageRetention string
	// BuildInfo is served by /status/buildinfo.
	BuildInfo version.Info
	// Ready reports whether the storage is open; until then every
	// endpoint but /status/walreplay answers 503. nil means always ready.
	Ready func() bool
	// CORSOrigin is matched against the Origin header; nil allows any
	// origin.
	CORSOrigin *regexp.Regexp
	// EnableRemoteWriteReceiver is accepted for the flag's sake; the
	// receiver does not exist yet, so /write answers 404 either way.
	EnableRemoteWriteReceiver bool
	// ExternalURL and ListenAddress turn target URLs on this host into
	// ones reachable from elsewhere (the targets' globalUrl); a nil
	// ExternalURL leaves them as they are.
	ExternalURL   *url.URL
	ListenAddress string
	// Logger receives handler failures; nil discards them.
	Logger *slog.Logger
	// Now is the clock for defaults such as the time of an instant query;
	// nil means time.Now.
	Now func() time.Time
}

// RuntimeStatus is the part of /status/runtimeinfo only the command
// knows.
type RuntimeStatus struct {
	ReloadConfigSuccess bool
	LastConfigTime      time.Time
	CorruptionCount     int64
}

// API serves /api/v1. Create it with New and mount Handler under the
// /api/v1 prefix (with the prefix stripped).
type API struct {
	opts   Options
	logger *slog.Logger
	now    func() time.Time
	routes map[string]map[string]apiFunc
}

type apiFunc func(r *http.Request) result

// New returns an API over the given components.
func New(opts Options) *API {
	a := &API{opts: opts, logger: opts.Logger, now: opts.Now}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.opts.Parser == nil {
		a.opts.Parser = parser.NewParser(parser.AllFeatures)
	}
	get, getPost, postPut := []string{http.MethodGet}, []string{http.MethodGet, http.MethodPost}, []string{http.MethodPost, http.MethodPut}
	a.routes = map[string]map[string]apiFunc{}
	add := func(path string, methods []string, f apiFunc) {
		m := a.routes[path]
		if m == nil {
			m = map[string]apiFunc{}
			a.routes[path] = m
		}
		for _, meth := range methods {
			m[meth] = f
		}
	}
	add("/query", getPost, a.query)
	add("/query_range", getPost, a.queryRange)
	add("/query_exemplars", getPost, a.queryExemplars)
	add("/format_query", getPost, a.formatQuery)
	add("/parse_query", getPost, a.parseQuery)
	add("/series", getPost, a.series)
	add("/labels", getPost, a.labelNames)
	// /label/<name>/values is matched in ServeHTTP.
	add("/targets", get, a.targets)
	add("/targets/metadata", get, a.targetMetadata)
	add("/scrape_pools", get, a.scrapePools)
	add("/metadata", get, a.metricMetadata)
	add("/rules", get, a.rules)
	add("/alerts", get, a.alerts)
	add("/alertmanagers", get, a.alertmanagers)
	add("/status/config", get, a.serveConfig)
	add("/status/flags", get, a.serveFlags)
	add("/status/runtimeinfo", get, a.serveRuntimeInfo)
	add("/status/buildinfo", get, a.serveBuildInfo)
	add("/status/tsdb", get, a.serveTSDBStatus)
	add("/status/walreplay", get, a.serveWALReplay)
	add("/admin/tsdb/snapshot", postPut, a.snapshot)
	add("/admin/tsdb/delete_series", postPut, a.deleteSeries)
	add("/admin/tsdb/clean_tombstones", postPut, a.cleanTombstones)
	return a
}

// labelValuesMethods are the methods of /label/<name>/values: GET only,
// as in Prometheus (Grafana relies on it and never POSTs there).
var labelValuesMethods = map[string]bool{http.MethodGet: true}

// ServeHTTP routes a request whose path has the /api/v1 prefix removed.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.setCORS(w, r)
	path := r.URL.Path
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	if r.Method == http.MethodOptions {
		// Preflight requests get the CORS headers and no body, for any path.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if msg, ok := a.missingReceiver(path); ok {
		// Plain-text 404s, as Prometheus answers a disabled receiver.
		http.Error(w, msg, http.StatusNotFound)
		return
	}
	var (
		f       apiFunc
		allowed []string
	)
	if name, ok := labelValuesName(path); ok {
		if labelValuesMethods[r.Method] {
			f = func(r *http.Request) result { return a.labelValues(r, name) }
		} else {
			allowed = []string{http.MethodGet}
		}
	} else if methods, ok := a.routes[path]; ok {
		if f = methods[r.Method]; f == nil {
			for m := range methods {
				allowed = append(allowed, m)
			}
		}
	} else {
		a.respondError(w, &apiError{errorNotFound, fmt.Errorf("unknown API endpoint %q", "/api/v1"+path)}, nil)
		return
	}
	if f == nil {
		sort.Strings(allowed)
		allowed = append(allowed, http.MethodOptions)
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	// The WAL replay progress is what a client polls while the server is
	// not ready, so it alone is served before.
	if path != "/status/walreplay" && a.opts.Ready != nil && !a.opts.Ready() {
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return
	}
	res := f(r)
	switch {
	case res.err != nil:
		a.respondError(w, res.err, res.data)
	case res.data != nil:
		a.respond(w, res)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// Route names the endpoint a path (below /api/v1) belongs to, for the
// handler label of request metrics: a bounded set of names, with
// /label/:name/values for every label name and /*path for unknown paths.
func (a *API) Route(path string) string {
	if _, ok := labelValuesName(path); ok {
		return "/api/v1/label/:name/values"
	}
	if _, ok := a.routes[path]; ok {
		return "/api/v1" + path
	}
	if _, ok := a.missingReceiver(path); ok {
		return "/api/v1" + path
	}
	return "/api/v1/*path"
}

// missingReceiver explains the endpoints that take data in, which do not
// exist yet: remote write, remote read and OTLP.
func (a *API) missingReceiver(path string) (string, bool) {
	switch path {
	case "/write":
		if !a.opts.EnableRemoteWriteReceiver {
			return "remote write receiver needs to be enabled with --web.enable-remote-write-receiver", true
		}
		return "the remote write receiver is not implemented in this version of Vigil", true
	case "/read":
		return "remote read is not implemented in this version of Vigil", true
	case "/otlp/v1/metrics":
		return "the OTLP receiver is not implemented in this version of Vigil", true
	}
	return "", false
}

// labelValuesName extracts <name> from /label/<name>/values.
func labelValuesName(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/label/")
	if !ok {
		return "", false
	}
	name, ok := strings.CutSuffix(rest, "/values")
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", false
	}
	return name, true
}

// CORS headers, as Prometheus sets them on every API response to a
// request with an Origin.
var corsHeaders = [][2]string{
	{"Access-Control-Allow-Headers", "Accept, Authorization, Content-Type, Origin"},
	{"Access-Control-Allow-Methods", "GET, POST, OPTIONS"},
	{"Access-Control-Expose-Headers", "Date"},
	{"Vary", "Origin"},
}

func (a *API) setCORS(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	for _, h := range corsHeaders {
		w.Header().Set(h[0], h[1])
	}
	o := a.opts.CORSOrigin
	switch {
	case o == nil || o.String() == "^(?:.*)$":
		w.Header().Set("Access-Control-Allow-Origin", "*")
	case o.MatchString(origin):
		w.Header().Set("Access-Control-Allow-Origin", origin)
	}
}

// maxAnnotations caps warnings and infos per response, so that a query
// hitting the same problem in many places does not bloat the answer.
const maxAnnotations = 10

func (a *API) respond(w http.ResponseWriter, res result) {
	warnings, infos := res.warnings.AsStrings(res.query, maxAnnotations, maxAnnotations)
	b := make([]byte, 0, 512)
	b = append(b, `{"status":"success","data":`...)
	b, err := appendData(b, res.data)
	if err != nil {
		a.logger.Error("Encoding API response failed", "err", err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	b = appendStrings(b, "warnings", sortAnnotations(warnings))
	b = appendStrings(b, "infos", sortAnnotations(infos))
	b = append(b, '}')
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(b); err != nil {
		a.logger.Debug("Writing API response failed", "err", err)
	}
}

func (a *API) respondError(w http.ResponseWriter, e *apiError, data any) {
	b := make([]byte, 0, 256)
	b = append(b, `{"status":"error",`...)
	if data != nil {
		var err error
		b = append(b, `"data":`...)
		if b, err = appendData(b, data); err != nil {
			a.logger.Error("Encoding API error data failed", "err", err)
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		b = append(b, ',')
	}
	b = append(b, `"errorType":`...)
	b = appendString(b, string(e.typ))
	b = append(b, `,"error":`...)
	b = appendString(b, e.err.Error())
	b = append(b, '}')
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.typ.httpStatus())
	if _, err := w.Write(b); err != nil {
		a.logger.Debug("Writing API error failed", "err", err)
	}
}

func appendStrings(b []byte, key string, ss []string) []byte {
	if len(ss) == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, `":[`...)
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// sortAnnotations orders annotations by text, which the engine collects
// in a map, so responses are stable; the "N more ... omitted" entry stays
// last.
func sortAnnotations(ss []string) []string {
	n := len(ss)
	if n > 0 && strings.HasSuffix(ss[n-1], "annotations omitted") {
		n--
	}
	sort.Strings(ss[:n])
	return ss
}

// addWarning records a handler's own warning with the query's.
func addWarning(annos *promql.Annotations, text string) {
	annos.Add(errors.New(text))
}

// addStorageWarnings records the warnings a querier returned.
func addStorageWarnings(annos *promql.Annotations, ws storage.Warnings) {
	for _, w := range ws {
		annos.Add(w)
	}
}

const truncatedWarning = "results truncated due to limit"
