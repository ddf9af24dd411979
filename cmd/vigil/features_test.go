package main

import (
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseFeatures(t *testing.T) {
	log := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(log, nil))
	ff := parseFeatures([]string{"promql-experimental-functions, exemplar-storage", "promql-duration-expr,no-such-thing,,promql-per-step-stats"}, logger)
	if !ff.experimentalFunctions || !ff.perStepStats {
		t.Errorf("applied features not set: %+v", ff)
	}
	if ff.binopFillModifiers || ff.delayedNameRemoval {
		t.Errorf("features set that were not asked for: %+v", ff)
	}
	out := log.String()
	for _, want := range []string{
		`level=WARN msg="Unknown option for --enable-feature" option=no-such-thing`,
		`level=WARN msg="This option for --enable-feature is not supported by Vigil and is ignored" option=exemplar-storage`,
		`option=promql-duration-expr`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if opts := ff.parserOptions(); !opts.EnableExperimentalFunctions || opts.EnableBinopFillModifiers || !opts.EnableDurationExpressions || !opts.EnableExtendedRangeSelectors {
		t.Errorf("parser options %+v", opts)
	}
}

// TestFeatureKindsApplied checks that every name marked applied has an
// effect, so that apply's panic cannot be reached from the command line.
func TestFeatureKindsApplied(t *testing.T) {
	for name, kind := range featureKinds {
		if kind != featureApplied {
			continue
		}
		var ff featureFlags
		ff.apply(name)
		if ff == (featureFlags{}) {
			t.Errorf("%s changes nothing", name)
		}
	}
}

// TestServerExperimentalFunctionsGated checks that, as in Prometheus 3,
// experimental functions need --enable-feature=promql-experimental-functions
// on every endpoint that parses a query.
func TestServerExperimentalFunctionsGated(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags []string
		ok    bool
	}{
		{"default", nil, false},
		{"enabled", []string{"--enable-feature=promql-experimental-functions"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"--web.listen-address=127.0.0.1:0", "--storage.tsdb.path=" + filepath.Join(dir, "data")}, tc.flags...)
			ts := startServer(t, args...)
			for _, path := range []string{"/api/v1/query?query=", "/api/v1/format_query?query=", "/api/v1/parse_query?query="} {
				for _, q := range []string{`sort_by_label(up, "job")`, `limitk(1, up)`} {
					code, body := httpGet(ts.base + path + url.QueryEscape(q))
					if tc.ok && code != 200 {
						t.Errorf("%s%s: HTTP %d %s", path, q, code, body)
					}
					if !tc.ok && (code != 400 || !strings.Contains(body, "not enabled") && !strings.Contains(body, "experimental")) {
						t.Errorf("%s%s: HTTP %d %s, want 400 naming the disabled feature", path, q, code, body)
					}
				}
			}
			// Duration expressions are on in Prometheus 3 without a flag.
			if code, body := httpGet(ts.base + "/api/v1/query?query=" + url.QueryEscape("rate(up[1m+1m])")); code != 200 {
				t.Errorf("duration expression: HTTP %d %s", code, body)
			}
		})
	}
}
