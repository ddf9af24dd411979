package scripttest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/histogram"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
	"github.com/vigil-monitoring/vigil/internal/storage"
	"github.com/vigil-monitoring/vigil/internal/tsdb"
	"github.com/vigil-monitoring/vigil/internal/tsdb/block"
	"github.com/vigil-monitoring/vigil/internal/tsdb/vfs"
)

// RunFile runs the script in path against a database in a temporary
// directory and reports every difference as a test error.
func RunFile(t testing.TB, path string) {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Run(path, string(text), t.TempDir()) {
		t.Error(f)
	}
}

// Run runs the script text, named name in messages, with its database in
// dir, and returns the failures: differences between expected and actual
// output, and script errors (after which it stops).
func Run(name, text, dir string) []string {
	blocks, err := parseScript(name, text)
	if err != nil {
		return []string{err.Error()}
	}
	r := &runner{dir: filepath.Join(dir, "data"), apps: map[string]storage.Appender{}}
	defer r.shutdown()
	var failures []string
	for _, b := range blocks {
		got, err := r.exec(b)
		cmdline := strings.TrimSpace(b.cmd + " " + strings.Join(b.args, " "))
		if err != nil {
			failures = append(failures, fmt.Sprintf("%s:%d: %s: %v", name, b.line, cmdline, err))
			return failures
		}
		if d := diff(b.expected, got); d != "" {
			failures = append(failures, fmt.Sprintf("%s:%d: %s: output differs (-expected +got):\n%s", name, b.line, cmdline, d))
		}
	}
	return failures
}

// runner holds a script's database and open appenders.
type runner struct {
	dir  string
	db   *tsdb.DB
	opts map[string]string
	apps map[string]storage.Appender
}

// shutdown closes what the script left open.
func (r *runner) shutdown() {
	for _, a := range r.apps {
		a.Rollback()
	}
	if r.db != nil {
		r.db.Close()
	}
}

// exec runs one block and returns its output lines. An error is a
// problem of the script (or a failure it cannot go on after), not an
// output difference.
func (r *runner) exec(b cmdBlock) ([]string, error) {
	needsInput := b.cmd == "append" || b.cmd == "write_block"
	if !needsInput && len(b.input) > 0 {
		return nil, fmt.Errorf("%s takes no input lines (is ---- missing before line %d?)", b.cmd, b.input[0].line)
	}
	switch b.cmd {
	case "open", "reopen", "close":
		return r.lifecycle(b)
	}
	if b.cmd != "write_block" && r.db == nil {
		return nil, fmt.Errorf("%s needs an open database (use open)", b.cmd)
	}
	ctx := context.Background()
	switch b.cmd {
	case "append":
		return r.append(b)
	case "commit", "rollback":
		kv, err := keyValues(b.args, "app")
		if err != nil {
			return nil, err
		}
		return r.finish(appName(kv), b.cmd)
	case "select":
		return r.selectCmd(b.args)
	case "label_names", "label_values":
		return r.labelsCmd(b.cmd, b.args)
	case "delete":
		if len(b.args) != 3 {
			return nil, fmt.Errorf("want delete SELECTOR MINT MAXT")
		}
		ms, err := parser.ParseMetricSelector(b.args[0])
		if err != nil {
			return nil, fmt.Errorf("bad selector %s: %w", b.args[0], err)
		}
		mint, maxt, err := timeRange(b.args[1:])
		if err != nil {
			return nil, err
		}
		return errLine("delete", r.db.Delete(ctx, mint, maxt, ms...)), nil
	case "clean_tombstones":
		return errLine("clean_tombstones", r.db.CleanTombstones()), nil
	case "compact":
		return errLine("compact", r.db.Compact(ctx)), nil
	case "truncate_head":
		if len(b.args) != 1 {
			return nil, fmt.Errorf("want truncate_head T")
		}
		t, err := parseTime(b.args[0])
		if err != nil {
			return nil, err
		}
		return errLine("truncate_head", r.db.Head().Truncate(t)), nil
	case "write_block":
		return r.writeBlock(b)
	case "blocks":
		return r.blocksCmd(), nil
	case "head":
		st := r.db.Head().Stats(0)
		span := "mint=none maxt=none"
		if st.MinTime <= st.MaxTime {
			span = fmt.Sprintf("mint=%d maxt=%d", st.MinTime, st.MaxTime)
		}
		return []string{fmt.Sprintf("series=%d chunks=%d %s", st.NumSeries, st.ChunkCount, span)}, nil
	}
	return nil, fmt.Errorf("unknown command %q", b.cmd)
}

// errLine turns an operation's error into output.
func errLine(op string, err error) []string {
	if err == nil {
		return nil
	}
	return []string{op + ": " + reason(err)}
}

var sentinels = []struct {
	err  error
	name string
}{
	{storage.ErrOutOfOrderSample, "out_of_order"},
	{storage.ErrOutOfBounds, "out_of_bounds"},
	{storage.ErrTooOldSample, "too_old"},
	{storage.ErrDuplicateSampleForTimestamp, "duplicate_sample"},
	{storage.ErrInvalidSample, "invalid_sample"},
	{storage.ErrNativeHistogramsDisabled, "histograms_disabled"},
}

// reason names the sentinels err wraps, or quotes its message.
func reason(err error) string {
	var names []string
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			names = append(names, s.name)
		}
	}
	var herr histogram.Error
	if errors.As(err, &herr) {
		names = append(names, "invalid_histogram")
	}
	if len(names) == 0 {
		return "error: " + err.Error()
	}
	return strings.Join(names, " ")
}

// The option keys of open and reopen.
var openKeys = []string{"block", "chunk_range", "max_block", "retention", "max_bytes", "no_histograms", "ooo_window"}

func (r *runner) lifecycle(b cmdBlock) ([]string, error) {
	kv, err := keyValues(b.args, openKeys...)
	if err != nil {
		return nil, err
	}
	switch b.cmd {
	case "open":
		if r.db != nil {
			return nil, fmt.Errorf("database already open (use reopen)")
		}
		r.opts = kv
	case "close":
		if len(kv) > 0 {
			return nil, fmt.Errorf("close takes no arguments")
		}
		if r.db == nil {
			return nil, fmt.Errorf("database not open")
		}
	case "reopen":
		if r.opts == nil {
			return nil, fmt.Errorf("reopen before open")
		}
		for k, v := range kv {
			r.opts[k] = v
		}
	}
	// Abandoned appenders are dropped without Rollback: nothing of theirs
	// may reach the WAL, which is what a writer's crash looks like.
	clear(r.apps)
	var out []string
	if r.db != nil {
		err := r.db.Close()
		r.db = nil
		out = errLine("close", err)
	}
	if b.cmd == "close" {
		return out, nil
	}
	opts, err := dbOptions(r.opts)
	if err != nil {
		return nil, err
	}
	db, err := tsdb.Open(r.dir, opts)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	r.db = db
	return out, nil
}

func dbOptions(kv map[string]string) (tsdb.Options, error) {
	o := tsdb.DefaultOptions()
	o.DisableCompaction = true
	// Small stripes keep a script's memory and open time small.
	o.StripeSize = 16
	dur := func(k string, dst *time.Duration) error {
		v, ok := kv[k]
		if !ok {
			return nil
		}
		d, err := parser.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("option %s: %w", k, err)
		}
		*dst = d
		return nil
	}
	for _, f := range []struct {
		k   string
		dst *time.Duration
	}{
		{"block", &o.MinBlockDuration},
		{"chunk_range", &o.ChunkRange},
		{"max_block", &o.MaxBlockDuration},
		{"retention", &o.RetentionDuration},
	} {
		if err := dur(f.k, f.dst); err != nil {
			return o, err
		}
	}
	if v, ok := kv["max_bytes"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return o, fmt.Errorf("option max_bytes: %w", err)
		}
		o.MaxBytes = n
	}
	_, o.DisableNativeHistograms = kv["no_histograms"]
	var window time.Duration
	if err := dur("ooo_window", &window); err != nil {
		return o, err
	}
	o.OutOfOrderTimeWindow = window.Milliseconds()
	return o, nil
}

func appName(kv map[string]string) string {
	if n := kv["app"]; n != "" {
		return n
	}
	return "default"
}

// append runs an append block.
func (r *runner) append(b cmdBlock) ([]string, error) {
	kv, err := keyValues(b.args, "app")
	if err != nil {
		return nil, err
	}
	name := appName(kv)
	app, ok := r.apps[name]
	if !ok {
		app = r.db.Appender(context.Background())
		r.apps[name] = app
	}
	var out []string
	for i, in := range b.input {
		if in.text == "commit" || in.text == "rollback" {
			if i != len(b.input)-1 {
				return nil, fmt.Errorf("line %d: %s must be the last line of the block", in.line, in.text)
			}
			fin, err := r.finish(name, in.text)
			if err != nil {
				return nil, err
			}
			return append(out, fin...), nil
		}
		sl, err := parseSampleLine(in)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", in.line, err)
		}
		var ref storage.SeriesRef
		for _, s := range sl.samples {
			var err error
			if s.H != nil || s.FH != nil {
				ref, err = app.AppendHistogram(ref, sl.lset, s.T, s.H, s.FH)
			} else {
				ref, err = app.Append(ref, sl.lset, s.T, s.F)
			}
			if err != nil {
				out = append(out, fmt.Sprintf("%s %s: %s", sl.series, formatSample(s), reason(err)))
			}
		}
	}
	return out, nil
}

// finish commits or rolls back the named appender.
func (r *runner) finish(name, how string) ([]string, error) {
	app, ok := r.apps[name]
	if !ok {
		return nil, fmt.Errorf("no open appender %q", name)
	}
	delete(r.apps, name)
	if how == "commit" {
		return errLine("commit", app.Commit()), nil
	}
	return errLine("rollback", app.Rollback()), nil
}

func timeRange(args []string) (int64, int64, error) {
	mint, err := parseTime(args[0])
	if err != nil {
		return 0, 0, err
	}
	maxt, err := parseTime(args[1])
	if err != nil {
		return 0, 0, err
	}
	return mint, maxt, nil
}

// selectCmd prints the series a selector matches, with their samples.
func (r *runner) selectCmd(args []string) ([]string, error) {
	if len(args) != 1 && len(args) != 3 {
		return nil, fmt.Errorf("want select SELECTOR [MINT MAXT]")
	}
	ms, err := parser.ParseMetricSelector(args[0])
	if err != nil {
		return nil, fmt.Errorf("bad selector %s: %w", args[0], err)
	}
	mint, maxt := int64(math.MinInt64), int64(math.MaxInt64)
	if len(args) == 3 {
		if mint, maxt, err = timeRange(args[1:]); err != nil {
			return nil, err
		}
	}
	q, err := r.db.Querier(mint, maxt)
	if err != nil {
		return []string{"querier: " + reason(err)}, nil
	}
	defer q.Close()
	set := q.Select(context.Background(), true, &storage.SelectHints{Start: mint, End: maxt}, ms...)
	var out []string
	var it storage.Iterator
	var prev labels.Labels
	for set.Next() {
		s := set.At()
		lset := s.Labels()
		if len(out) > 0 && labels.Compare(prev, lset) >= 0 {
			out = append(out, "ORDER VIOLATION: "+formatSeries(lset)+" after "+formatSeries(prev))
		}
		prev = lset.Copy()
		it = s.Iterator(it)
		smps, err := storage.ExpandSamples(it)
		if err != nil {
			out = append(out, formatSeries(lset)+" iterator error: "+err.Error())
			continue
		}
		if bad := checkSamples(smps, mint, maxt); bad != "" {
			out = append(out, formatSeries(lset)+" "+bad)
		}
		if len(smps) == 0 {
			continue
		}
		out = append(out, formatSeries(lset)+" "+formatSamples(smps))
	}
	if err := set.Err(); err != nil {
		out = append(out, "select error: "+err.Error())
	}
	if len(out) == 0 {
		out = []string{"no series"}
	}
	return out, nil
}

// checkSamples reports samples out of time order or outside [mint, maxt],
// which no querier may return.
func checkSamples(ss []storage.Sample, mint, maxt int64) string {
	for i, s := range ss {
		if s.T < mint || s.T > maxt {
			return fmt.Sprintf("SAMPLE OUTSIDE RANGE: %d", s.T)
		}
		if i > 0 && s.T <= ss[i-1].T {
			return fmt.Sprintf("SAMPLES NOT INCREASING: %d after %d", s.T, ss[i-1].T)
		}
	}
	return ""
}

func (r *runner) labelsCmd(cmd string, args []string) ([]string, error) {
	var name string
	if cmd == "label_values" {
		if len(args) == 0 {
			return nil, fmt.Errorf("want label_values NAME [SELECTOR]")
		}
		name, args = args[0], args[1:]
		if strings.HasPrefix(name, `"`) {
			n, err := strconv.Unquote(name)
			if err != nil {
				return nil, fmt.Errorf("bad label name %s: %w", name, err)
			}
			name = n
		}
	}
	if len(args) > 1 {
		return nil, fmt.Errorf("want %s [SELECTOR]", cmd)
	}
	var ms []*labels.Matcher
	if len(args) == 1 {
		var err error
		if ms, err = parser.ParseMetricSelector(args[0]); err != nil {
			return nil, fmt.Errorf("bad selector %s: %w", args[0], err)
		}
	}
	q, err := r.db.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		return []string{"querier: " + reason(err)}, nil
	}
	defer q.Close()
	var vals []string
	if cmd == "label_values" {
		vals, _, err = q.LabelValues(context.Background(), name, nil, ms...)
	} else {
		vals, _, err = q.LabelNames(context.Background(), nil, ms...)
	}
	if err != nil {
		return []string{cmd + ": " + reason(err)}, nil
	}
	if len(vals) == 0 {
		return []string{"none"}, nil
	}
	quoted := make([]string, len(vals))
	for i, v := range vals {
		quoted[i] = strconv.Quote(v)
	}
	return []string{strings.Join(quoted, " ")}, nil
}

// writeBlock writes a block from the input lines with block.Write.
func (r *runner) writeBlock(b cmdBlock) ([]string, error) {
	if len(b.args) != 2 {
		return nil, fmt.Errorf("want write_block MINT MAXT")
	}
	mint, maxt, err := timeRange(b.args)
	if err != nil {
		return nil, err
	}
	bySeries := map[string]*storage.ListSeries{}
	var series []storage.Series
	for _, in := range b.input {
		sl, err := parseSampleLine(in)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", in.line, err)
		}
		key := sl.lset.String()
		if _, dup := bySeries[key]; dup {
			return nil, fmt.Errorf("line %d: series %s given twice; put all its samples on one line", in.line, sl.series)
		}
		ls := storage.NewListSeries(sl.lset, sl.samples)
		bySeries[key] = ls
		series = append(series, ls)
	}
	if err := os.MkdirAll(r.dir, 0o777); err != nil {
		return nil, err
	}
	meta := block.Meta{MinTime: mint, MaxTime: maxt}
	_, err = block.Write(context.Background(), vfs.OS(), r.dir, meta, block.SeriesSetFromLabels(series), block.WriteOptions{})
	return errLine("write_block", err), nil
}

// blocksCmd prints the loaded blocks.
func (r *runner) blocksCmd() []string {
	metas := r.db.Blocks()
	if len(metas) == 0 {
		return []string{"no blocks"}
	}
	slices.SortStableFunc(metas, func(a, b block.Meta) int {
		if a.MinTime != b.MinTime {
			if a.MinTime < b.MinTime {
				return -1
			}
			return 1
		}
		return a.ULID.Compare(b.ULID)
	})
	out := make([]string, len(metas))
	for i, m := range metas {
		st := m.Stats
		out[i] = fmt.Sprintf("[%d, %d) level=%d series=%d samples=%d chunks=%d tombstones=%d",
			m.MinTime, m.MaxTime, m.Compaction.Level, st.NumSeries, st.NumSamples, st.NumChunks, st.NumTombstones)
	}
	return out
}
