package lint

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

const textType = "text/plain; version=0.0.4"

func TestLint(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
		want  []string
	}{
		{
			name:  "clean families",
			input: "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\nhttp_requests_total{code=\"200\"} 3\n# HELP up Up.\n# TYPE up gauge\nup 1\n",
		},
		{
			name:  "missing help",
			input: "# TYPE up gauge\nup 1\n",
			want:  []string{"up no help text"},
		},
		{
			name:  "counter without _total",
			input: "# HELP requests R.\n# TYPE requests counter\nrequests 1\n",
			want:  []string{`requests counter metrics should have "_total" suffix`},
		},
		{
			name:  "gauge with _total and histogram suffixes",
			input: "# HELP a_total A.\n# TYPE a_total gauge\na_total 1\n# HELP b_count B.\n# TYPE b_count gauge\nb_count 1\n# HELP c_bucket C.\n# TYPE c_bucket gauge\nc_bucket 1\n",
			want: []string{
				`a_total non-counter metrics should not have "_total" suffix`,
				`b_count non-histogram and non-summary metrics should not have "_count" suffix`,
				`c_bucket non-histogram metrics should not have "_bucket" suffix`,
			},
		},
		{
			name:  "untyped skips type rules",
			input: "# HELP x_total X.\nx_total 1\n",
		},
		{
			name:  "reserved labels on the wrong type",
			input: "# HELP g G.\n# TYPE g gauge\ng{le=\"1\",quantile=\"0.5\"} 1\n",
			want: []string{
				`g non-histogram metrics should not have "le" label`,
				`g non-summary metrics should not have "quantile" label`,
			},
		},
		{
			name:  "histogram and summary own le and quantile",
			input: "# HELP h_seconds H.\n# TYPE h_seconds histogram\nh_seconds_bucket{le=\"1\"} 1\nh_seconds_bucket{le=\"+Inf\"} 1\nh_seconds_sum 1\nh_seconds_count 1\n# HELP s_seconds S.\n# TYPE s_seconds summary\ns_seconds{quantile=\"0.5\"} 1\ns_seconds_sum 1\ns_seconds_count 1\n",
		},
		{
			name:  "non-base unit, abbreviation, type in name, colon, camelCase",
			input: "# HELP req_milliseconds R.\n# TYPE req_milliseconds gauge\nreq_milliseconds 1\n# HELP lat_ms L.\n# TYPE lat_ms gauge\nlat_ms 1\n# HELP foo_gauge F.\n# TYPE foo_gauge gauge\nfoo_gauge 1\n# HELP job:up:sum J.\n# TYPE job:up:sum gauge\njob:up:sum 1\n# HELP fooBar F.\n# TYPE fooBar gauge\nfooBar{someLabel=\"x\"} 1\n",
			want: []string{
				"fooBar label names should be written in 'snake_case' not 'camelCase'",
				"fooBar metric names should be written in 'snake_case' not 'camelCase'",
				"foo_gauge metric name should not include type 'gauge'",
				"job:up:sum metric names should not contain ':'",
				"lat_ms metric names should not contain abbreviated units",
				`req_milliseconds use base unit "seconds" instead of "milliseconds"`,
			},
		},
		{
			name:  "whole words only for units",
			input: "# HELP thermometers_celsius T.\n# TYPE thermometers_celsius gauge\nthermometers_celsius 1\n# HELP road_kilometers R.\n# TYPE road_kilometers gauge\nroad_kilometers 1\n",
			want:  []string{`road_kilometers use base unit "meters" instead of "kilometers"`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			problems, err := Lint([]byte(tc.input), textType)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestLintParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, input, want string }{
		{"bad sample", "up{job=} 1\n", "line 1"},
		{"second HELP", "# HELP up a\n# HELP up b\nup 1\n", `second HELP line for metric name "up"`},
		{"second TYPE", "# TYPE up gauge\n# TYPE up gauge\nup 1\n", `second TYPE line for metric name "up"`},
		{"TYPE after samples", "up 1\n# TYPE up gauge\n", `or TYPE reported after samples`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Lint([]byte(tc.input), textType)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestLintPromtoolFixture checks the input promtool's own tests use for
// `check metrics`: it follows every convention, so no problem is reported.
func TestLintPromtoolFixture(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "../../../../shared/conformance/promtool/metrics-test.prom")
	body, err := os.ReadFile(path)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("conformance corpus missing under CI: %v", err)
		}
		t.Skipf("conformance corpus not found beside the repository (%v)", err)
	}
	problems, err := Lint(body, textType)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 0 {
		t.Errorf("unexpected problems: %v", problems)
	}
}
