package promql

import (
	"context"
	"encoding/json"
	"io"
	"sync"
	"time"
)

// QueryLogEntry is one line of the query log (global.query_log_file), in
// the JSON shape Prometheus writes, so tools that read its query log read
// ours.
type QueryLogEntry struct {
	Params      QueryLogParams `json:"params"`
	Stats       BuiltinStats   `json:"stats"`
	Error       string         `json:"error,omitempty"`
	Timestamp   time.Time      `json:"ts"`
	HTTPRequest map[string]any `json:"httpRequest,omitempty"`
}

// QueryLogParams are the query and its time range. Start and End are RFC
// 3339; Step is in seconds (0 for instant queries).
type QueryLogParams struct {
	Query string    `json:"query"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	Step  float64   `json:"step"`
}

// QueryLogger receives one entry per executed query.
type QueryLogger interface {
	LogQuery(e *QueryLogEntry) error
	Close() error
}

// JSONLinesQueryLogger writes each entry as one JSON line. It is safe for
// concurrent use.
type JSONLinesQueryLogger struct {
	mu  sync.Mutex
	w   io.WriteCloser
	enc *json.Encoder
}

// NewJSONLinesQueryLogger logs to w and closes it on Close.
func NewJSONLinesQueryLogger(w io.WriteCloser) *JSONLinesQueryLogger {
	return &JSONLinesQueryLogger{w: w, enc: json.NewEncoder(w)}
}

// LogQuery writes e as one line.
func (l *JSONLinesQueryLogger) LogQuery(e *QueryLogEntry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.enc.Encode(e)
}

// Close closes the underlying writer.
func (l *JSONLinesQueryLogger) Close() error { return l.w.Close() }

type originKey struct{}

// NewOriginContext returns a context carrying where a query came from
// (for the API: client IP, method, path), which the query log records.
func NewOriginContext(ctx context.Context, origin map[string]any) context.Context {
	return context.WithValue(ctx, originKey{}, origin)
}

func originFrom(ctx context.Context) map[string]any {
	o, _ := ctx.Value(originKey{}).(map[string]any)
	return o
}

// SetQueryLogger replaces the query logger (nil turns logging off) and
// closes the previous one. The server calls it on every configuration
// load, since query_log_file is part of the configuration.
func (ng *Engine) SetQueryLogger(l QueryLogger) error {
	ng.queryLog.Lock()
	old := ng.queryLog.logger
	ng.queryLog.logger = l
	ng.queryLog.Unlock()
	if l != nil {
		ng.metrics.queryLogEnabled.Set(1)
	} else {
		ng.metrics.queryLogEnabled.Set(0)
	}
	if old != nil {
		return old.Close()
	}
	return nil
}

// logQuery writes q's entry if a logger is set. A failing logger is
// counted, never fails the query.
func (ng *Engine) logQuery(ctx context.Context, q *query, err error) {
	ng.queryLog.RLock()
	l := ng.queryLog.logger
	ng.queryLog.RUnlock()
	if l == nil {
		return
	}
	e := &QueryLogEntry{
		Params: QueryLogParams{
			Query: q.text,
			Start: time.UnixMilli(q.start).UTC(),
			End:   time.UnixMilli(q.end).UTC(),
			Step:  float64(q.interval) / 1000,
		},
		Stats:       q.stats.Builtin(false),
		Timestamp:   time.Now().UTC(),
		HTTPRequest: originFrom(ctx),
	}
	if err != nil {
		e.Error = err.Error()
	}
	if lerr := l.LogQuery(e); lerr != nil {
		ng.metrics.queryLogFailures.Inc()
		ng.logger.Error("Can't log query", "err", lerr)
	}
}
