package api

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/model/metadata"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
	"github.com/vigil-monitoring/vigil/internal/scrape"
)

type activeTarget struct {
	DiscoveredLabels   labels.Labels       `json:"discoveredLabels"`
	Labels             labels.Labels       `json:"labels"`
	ScrapePool         string              `json:"scrapePool"`
	ScrapeURL          string              `json:"scrapeUrl"`
	GlobalURL          string              `json:"globalUrl"`
	LastError          string              `json:"lastError"`
	LastScrape         time.Time           `json:"lastScrape"`
	LastScrapeDuration float64             `json:"lastScrapeDuration"`
	Health             scrape.TargetHealth `json:"health"`
	ScrapeInterval     string              `json:"scrapeInterval"`
	ScrapeTimeout      string              `json:"scrapeTimeout"`
}

type droppedTarget struct {
	DiscoveredLabels labels.Labels `json:"discoveredLabels"`
	ScrapePool       string        `json:"scrapePool"`
}

type targetDiscovery struct {
	ActiveTargets       []activeTarget  `json:"activeTargets"`
	DroppedTargets      []droppedTarget `json:"droppedTargets"`
	DroppedTargetCounts map[string]int  `json:"droppedTargetCounts"`
}

// sortedPools returns the pool names of a target map in order.
func sortedPools(m map[string][]Target) []string {
	pools := make([]string, 0, len(m))
	for p := range m {
		pools = append(pools, p)
	}
	slices.Sort(pools)
	return pools
}

func (a *API) targets(r *http.Request) result {
	q := r.URL.Query()
	pool := q.Get("scrapePool")
	state := strings.ToLower(q.Get("state"))
	showActive := state == "" || state == "any" || state == "active"
	showDropped := state == "" || state == "any" || state == "dropped"
	res := targetDiscovery{ActiveTargets: []activeTarget{}, DroppedTargets: []droppedTarget{}, DroppedTargetCounts: map[string]int{}}
	tr := a.opts.Targets
	if tr == nil {
		return result{data: res}
	}
	if showActive {
		active := tr.ActiveTargets()
		for _, p := range sortedPools(active) {
			if pool != "" && p != pool {
				continue
			}
			for _, t := range active[p] {
				lastErr := ""
				if err := t.LastError(); err != nil {
					lastErr = err.Error()
				}
				global, err := a.globalURL(t.URL())
				if err != nil {
					if lastErr != "" {
						lastErr += ": "
					}
					lastErr += err.Error()
				}
				res.ActiveTargets = append(res.ActiveTargets, activeTarget{
					DiscoveredLabels:   t.DiscoveredLabels(),
					Labels:             t.Labels(),
					ScrapePool:         p,
					ScrapeURL:          t.URL().String(),
					GlobalURL:          global.String(),
					LastError:          lastErr,
					LastScrape:         t.LastScrape(),
					LastScrapeDuration: t.LastScrapeDuration().Seconds(),
					Health:             t.Health(),
					ScrapeInterval:     t.Get("__scrape_interval__"),
					ScrapeTimeout:      t.Get("__scrape_timeout__"),
				})
			}
		}
	}
	if showDropped {
		res.DroppedTargetCounts = tr.DroppedTargetCounts()
		if res.DroppedTargetCounts == nil {
			res.DroppedTargetCounts = map[string]int{}
		}
		dropped := tr.DroppedTargets()
		for _, p := range sortedPools(dropped) {
			if pool != "" && p != pool {
				continue
			}
			for _, t := range dropped[p] {
				res.DroppedTargets = append(res.DroppedTargets, droppedTarget{DiscoveredLabels: t.DiscoveredLabels(), ScrapePool: p})
			}
		}
	}
	return result{data: res}
}

// localhosts are the spellings of a target on the server's own host.
var localhosts = []string{"127.0.0.1", "localhost", "::1"}

// globalURL rewrites a target URL that points at this host so that
// people elsewhere can follow it: the server's own endpoint becomes the
// external URL's scheme and host; another local port keeps its port but
// gets the external host name.
func (a *API) globalURL(u *url.URL) (*url.URL, error) {
	ext := a.opts.ExternalURL
	if ext == nil {
		return u, nil
	}
	host, port, err := splitHostPort(u.Host)
	if err != nil {
		return u, err
	}
	if !slices.Contains(localhosts, host) {
		return u, nil
	}
	_, ownPort, err := net.SplitHostPort(a.opts.ListenAddress)
	if err != nil {
		return u, err
	}
	out := *u
	if port == ownPort {
		out.Scheme = ext.Scheme
		out.Host = ext.Host
		return &out, nil
	}
	extHost, _, err := splitHostPort(ext.Host)
	if err != nil {
		return u, err
	}
	out.Host = extHost
	if port != "" {
		out.Host = net.JoinHostPort(extHost, port)
	}
	return &out, nil
}

// splitHostPort also accepts a host without a port.
func splitHostPort(hp string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(hp)
	if err != nil && strings.HasSuffix(err.Error(), "missing port in address") {
		if h, _, err2 := net.SplitHostPort(hp + ":80"); err2 == nil {
			return h, "", nil
		}
	}
	return host, port, err
}

func (a *API) scrapePools(*http.Request) result {
	names := []string{}
	if a.opts.Targets != nil {
		names = append(names, a.opts.Targets.ScrapePools()...)
	}
	slices.Sort(names)
	return result{data: struct {
		ScrapePools []string `json:"scrapePools"`
	}{names}}
}

type targetMetadataEntry struct {
	Target labels.Labels `json:"target"`
	Metric string        `json:"metric,omitempty"`
	Type   metadata.Type `json:"type"`
	Help   string        `json:"help"`
	Unit   string        `json:"unit"`
}

// optionalInt parses an optional integer parameter; -1 means absent.
func optionalInt(r *http.Request, name string) (int, error) {
	s := r.FormValue(name)
	if s == "" {
		return -1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errors.New(name + " must be a number")
	}
	return n, nil
}

func (a *API) targetMetadata(r *http.Request) result {
	limit, err := optionalInt(r, "limit")
	if err != nil {
		return badData(err)
	}
	var matchers []*labels.Matcher
	if s := r.FormValue("match_target"); s != "" {
		if matchers, err = parser.ParseMetricSelector(s); err != nil {
			return invalidParam(err, "match_target")
		}
	}
	metric := r.FormValue("metric")
	out := []targetMetadataEntry{}
	if a.opts.Targets == nil {
		return result{data: out}
	}
	active := a.opts.Targets.ActiveTargets()
	for _, p := range sortedPools(active) {
		for _, t := range active[p] {
			if limit >= 0 && len(out) >= limit {
				return result{data: out}
			}
			tl := t.Labels()
			if !matchesAll(tl, matchers) {
				continue
			}
			if metric == "" {
				for _, md := range t.ListMetadata() {
					out = append(out, targetMetadataEntry{Target: tl, Metric: md.MetricFamily, Type: md.Type, Help: md.Help, Unit: md.Unit})
				}
				continue
			}
			if md, ok := t.GetMetadata(metric); ok {
				out = append(out, targetMetadataEntry{Target: tl, Type: md.Type, Help: md.Help, Unit: md.Unit})
			}
		}
	}
	return result{data: out}
}

func matchesAll(ls labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(ls.Get(m.Name)) {
			return false
		}
	}
	return true
}

type metricMetadata struct {
	Type metadata.Type `json:"type"`
	Help string        `json:"help"`
	Unit string        `json:"unit"`
}

// metricMetadata merges the metadata of all targets per metric family,
// each distinct (type, help, unit) once.
func (a *API) metricMetadata(r *http.Request) result {
	limit, err := optionalInt(r, "limit")
	if err != nil {
		return badData(err)
	}
	perMetric, err := optionalInt(r, "limit_per_metric")
	if err != nil {
		return badData(err)
	}
	metric := r.FormValue("metric")
	out := map[string][]metricMetadata{}
	if a.opts.Targets == nil {
		return result{data: out}
	}
	seen := map[string]map[metricMetadata]bool{}
	var names []string // in order of first appearance, for a stable limit
	add := func(md scrape.MetricMetadata) {
		m := metricMetadata{Type: md.Type, Help: md.Help, Unit: md.Unit}
		set := seen[md.MetricFamily]
		if set == nil {
			set = map[metricMetadata]bool{}
			seen[md.MetricFamily] = set
			names = append(names, md.MetricFamily)
		}
		if set[m] || (perMetric > 0 && len(set) >= perMetric) {
			return
		}
		set[m] = true
		out[md.MetricFamily] = append(out[md.MetricFamily], m)
	}
	active := a.opts.Targets.ActiveTargets()
	for _, p := range sortedPools(active) {
		for _, t := range active[p] {
			if metric == "" {
				for _, md := range t.ListMetadata() {
					add(md)
				}
			} else if md, ok := t.GetMetadata(metric); ok {
				add(md)
			}
		}
	}
	if limit >= 0 && len(names) > limit {
		slices.Sort(names)
		for _, n := range names[limit:] {
			delete(out, n)
		}
	}
	return result{data: out}
}
