package scrape

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-monitoring/vigil/internal/config"
	"github.com/vigil-monitoring/vigil/internal/discovery"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

func TestPopulateLabels(t *testing.T) {
	const base = "job_name: node\nscrape_interval: 30s\nscrape_timeout: 5s\n"
	cases := []struct {
		name     string
		job      string
		group    labels.Labels
		target   labels.Labels
		want     string // labels after relabeling; "" for dropped
		wantOrig string
		wantErr  string
	}{
		{
			name:     "defaults",
			job:      base,
			target:   labels.FromStrings("__address__", "h:9100", "__meta_x", "m"),
			want:     `{__address__="h:9100", __metrics_path__="/metrics", __scheme__="http", __scrape_interval__="30s", __scrape_timeout__="5s", instance="h:9100", job="node"}`,
			wantOrig: `{__address__="h:9100", __meta_x="m", __metrics_path__="/metrics", __scheme__="http", __scrape_interval__="30s", __scrape_timeout__="5s", job="node"}`,
		},
		{
			name:   "target labels override group labels, explicit instance kept",
			job:    base,
			group:  labels.FromStrings("env", "prod", "team", "a"),
			target: labels.FromStrings("__address__", "h:1", "team", "b", "instance", "box"),
			want:   `{__address__="h:1", __metrics_path__="/metrics", __scheme__="http", __scrape_interval__="30s", __scrape_timeout__="5s", env="prod", instance="box", job="node", team="b"}`,
		},
		{
			name:   "discovered scrape labels win over the job's",
			job:    base,
			target: labels.FromStrings("__address__", "h:1", "__scheme__", "https", "__metrics_path__", "/m", "job", "other"),
			want:   `{__address__="h:1", __metrics_path__="/m", __scheme__="https", __scrape_interval__="30s", __scrape_timeout__="5s", instance="h:1", job="other"}`,
		},
		{
			name:   "params become __param_ labels",
			job:    base + "params:\n  module: [a, b]\n",
			target: labels.FromStrings("__address__", "h:1"),
			want:   `{__address__="h:1", __metrics_path__="/metrics", __param_module="a", __scheme__="http", __scrape_interval__="30s", __scrape_timeout__="5s", instance="h:1", job="node"}`,
		},
		{
			name:   "relabeling drops",
			job:    base + "relabel_configs:\n- source_labels: [__address__]\n  regex: h:.*\n  action: drop\n",
			target: labels.FromStrings("__address__", "h:1"),
			want:   "",
		},
		{
			name:   "relabeling sets interval and timeout",
			job:    base + "relabel_configs:\n- target_label: __scrape_interval__\n  replacement: 1m\n- target_label: __scrape_timeout__\n  replacement: 50s\n",
			target: labels.FromStrings("__address__", "h:1"),
			want:   `{__address__="h:1", __metrics_path__="/metrics", __scheme__="http", __scrape_interval__="1m", __scrape_timeout__="50s", instance="h:1", job="node"}`,
		},
		{
			name:    "no address",
			job:     base + "relabel_configs:\n- action: labeldrop\n  regex: __address__\n",
			target:  labels.FromStrings("__address__", "h:1"),
			wantErr: "no address",
		},
		{
			name:    "address with a path",
			job:     base,
			target:  labels.FromStrings("__address__", "h:1/metrics"),
			wantErr: `"h:1/metrics" is not a valid hostname`,
		},
		{
			name:    "bad interval",
			job:     base,
			target:  labels.FromStrings("__address__", "h:1", "__scrape_interval__", "soon"),
			wantErr: "error parsing scrape interval",
		},
		{
			name:    "zero interval",
			job:     base,
			target:  labels.FromStrings("__address__", "h:1", "__scrape_interval__", "0s"),
			wantErr: "scrape interval cannot be 0",
		},
		{
			name:    "zero timeout",
			job:     base,
			target:  labels.FromStrings("__address__", "h:1", "__scrape_timeout__", "0s"),
			wantErr: "scrape timeout cannot be 0",
		},
		{
			name:    "timeout above interval",
			job:     base,
			target:  labels.FromStrings("__address__", "h:1", "__scrape_timeout__", "1m"),
			wantErr: `scrape timeout cannot be greater than scrape interval ("1m" > "30s")`,
		},
		{
			name:    "invalid UTF-8 value",
			job:     base,
			target:  labels.FromStrings("__address__", "h:1", "x", "\xff"),
			wantErr: `invalid label value for "x"`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := jobConfig(t, c.job)
			res, orig, err := populateLabels(labels.NewBuilder(labels.EmptyLabels()), c.group, c.target, cfg)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := res.String()
			if res.IsEmpty() {
				got = ""
			}
			if got != c.want {
				t.Errorf("labels\n got %s\nwant %s", got, c.want)
			}
			if c.wantOrig != "" && orig.String() != c.wantOrig {
				t.Errorf("discovered\n got %s\nwant %s", orig, c.wantOrig)
			}
		})
	}
}

func TestTargetLabelsURLAndDuration(t *testing.T) {
	cfg := jobConfig(t, "job_name: j\nscrape_interval: 15s\nscheme: https\nmetrics_path: /probe\nparams:\n  module: [http_2xx, extra]\n  target: [x]\nrelabel_configs:\n- source_labels: [__address__]\n  target_label: __param_target\n")
	ts, errs := targetsFromGroup(group("g", "example.org:443"), cfg, labels.NewBuilder(labels.EmptyLabels()), nil)
	if len(errs) != 0 || len(ts) != 1 {
		t.Fatalf("targets %v, errors %v", ts, errs)
	}
	tg := ts[0]
	if got, want := tg.URL().String(), "https://example.org:443/probe?module=http_2xx&module=extra&target=example.org%3A443"; got != want {
		t.Errorf("URL = %s, want %s", got, want)
	}
	if got, want := tg.Labels().String(), `{instance="example.org:443", job="j"}`; got != want {
		t.Errorf("Labels = %s, want %s", got, want)
	}
	if tg.Interval() != 15*time.Second || tg.Timeout() != 10*time.Second {
		t.Errorf("interval %v timeout %v", tg.Interval(), tg.Timeout())
	}
	if tg.Health() != HealthUnknown || tg.LastError() != nil || !tg.LastScrape().IsZero() {
		t.Errorf("fresh target has status %v %v %v", tg.Health(), tg.LastError(), tg.LastScrape())
	}
	if tg.Get("__param_target") != "example.org:443" || tg.ScrapePool() != "j" {
		t.Errorf("Get/ScrapePool wrong")
	}
}

func TestOffsetIsStableAndSpread(t *testing.T) {
	const interval = 10 * time.Second
	const n, buckets = 2000, 10
	counts := make([]int, buckets)
	seed := uint64(0x1234)
	now := time.Unix(1_700_000_000, 123456789)
	var gridShift time.Duration
	for i := range n {
		tg := newTarget("j", labels.FromStrings("__address__", fmt.Sprintf("10.0.%d.%d:9100", i/256, i%256), "job", "j"), labels.EmptyLabels(), nil, interval, interval)
		p := tg.phase(interval, seed)
		if p < 0 || p >= interval {
			t.Fatalf("phase %v outside [0, %v)", p, interval)
		}
		if tg.phase(interval, seed) != p {
			t.Fatal("phase not stable")
		}
		// All targets share the grid, shifted by the seed.
		shift := tg.phase(interval, seed) % phaseQuantum(interval)
		if i == 0 {
			gridShift = shift
		} else if shift != gridShift {
			t.Fatalf("phase %v is off the grid shifted by %v", p, gridShift)
		}
		// The first scrape lands on the phase, whatever the current time.
		for _, at := range []time.Time{now, now.Add(3 * time.Second), now.Add(interval)} {
			off := tg.offset(at, interval, seed)
			if off < 0 || off >= interval {
				t.Fatalf("offset %v outside [0, %v)", off, interval)
			}
			if got := time.Duration(at.Add(off).UnixNano() % int64(interval)); got != p {
				t.Fatalf("scrape at phase %v, want %v", got, p)
			}
		}
		counts[p*buckets/interval]++
	}
	// Uniform spread: each tenth of the interval gets about n/10 targets.
	for i, c := range counts {
		if c < n/buckets*7/10 || c > n/buckets*13/10 {
			t.Errorf("bucket %d has %d targets, want about %d (counts %v)", i, c, n/buckets, counts)
		}
	}
	tg := newTarget("j", labels.FromStrings("__address__", "a:1"), labels.EmptyLabels(), nil, interval, interval)
	if tg.phase(interval, 1) == tg.phase(interval, 2) && tg.phase(interval, 3) == tg.phase(interval, 4) {
		t.Error("the seed does not move the phase")
	}
}

func TestPhaseQuantum(t *testing.T) {
	for _, c := range []struct{ interval, want time.Duration }{
		{time.Minute, 500 * time.Millisecond},
		{5 * time.Second, 500 * time.Millisecond},
		{time.Second, 100 * time.Millisecond},
		{10 * time.Millisecond, time.Millisecond},
		{5, 1},
	} {
		if got := phaseQuantum(c.interval); got != c.want {
			t.Errorf("phaseQuantum(%v) = %v, want %v", c.interval, got, c.want)
		}
	}
	// Few targets on a short interval share wake-ups: 20 targets at 5 s
	// take at most the grid's 10 phases.
	const interval = 5 * time.Second
	phases := map[time.Duration]bool{}
	for i := range 20 {
		tg := newTarget("j", labels.FromStrings("__address__", fmt.Sprintf("127.0.0.1:%d", 9100+i)), labels.EmptyLabels(), nil, interval, interval)
		phases[tg.phase(interval, 42)] = true
	}
	if len(phases) > 10 || len(phases) < 2 {
		t.Errorf("20 targets took %d phases, want 2 to 10", len(phases))
	}
	// Another seed (the other server of an HA pair) shifts the grid.
	tg := newTarget("j", labels.FromStrings("__address__", "127.0.0.1:9100"), labels.EmptyLabels(), nil, interval, interval)
	q := phaseQuantum(interval)
	if tg.phase(interval, 42)%q == tg.phase(interval, 43)%q {
		t.Error("seeds 42 and 43 put the grid at the same shift")
	}
}

func TestAcceptHeader(t *testing.T) {
	cases := []struct {
		protocols []config.ScrapeProtocol
		escaping  string
		want      string
	}{
		{
			config.DefaultScrapeProtocols, "allow-utf-8",
			"application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
		},
		{
			config.DefaultProtoFirstScrapeProtocols, "allow-utf-8",
			"application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1",
		},
		{
			[]config.ScrapeProtocol{config.PrometheusText0_0_4}, "underscores",
			"text/plain;version=0.0.4;q=0.6,*/*;q=0.5",
		},
	}
	for _, c := range cases {
		if got := acceptHeader(c.protocols, c.escaping); got != c.want {
			t.Errorf("acceptHeader(%v)\n got %s\nwant %s", c.protocols, got, c.want)
		}
	}
	// The configuration's defaults produce the contract's header.
	cfg := jobConfig(t, "job_name: j\n")
	if got := acceptHeader(cfg.ScrapeProtocols, cfg.MetricNameEscapingScheme); got != cases[0].want {
		t.Errorf("default config Accept\n got %s\nwant %s", got, cases[0].want)
	}
}

func TestTargetsFromGroupReportsInvalid(t *testing.T) {
	cfg := jobConfig(t, "job_name: j\nrelabel_configs:\n- source_labels: [__address__]\n  regex: drop.*\n  action: drop\n")
	tg := &discovery.TargetGroup{Source: "src", Targets: []labels.Labels{
		labels.FromStrings("__address__", "ok:1"),
		labels.FromStrings("__address__", "bad:1/x"),
		labels.FromStrings("__address__", "drop:1"),
	}}
	ts, errs := targetsFromGroup(tg, cfg, labels.NewBuilder(labels.EmptyLabels()), nil)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "instance 1 in group src") {
		t.Fatalf("errors = %v", errs)
	}
	if len(ts) != 2 || ts[0].labels.IsEmpty() || !ts[1].labels.IsEmpty() {
		t.Fatalf("targets = %v", ts)
	}
	if got := ts[1].DiscoveredLabels().Get("__address__"); got != "drop:1" {
		t.Errorf("dropped target keeps discovered labels, got address %q", got)
	}
}
