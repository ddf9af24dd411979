package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/tsdb"
)

// RuleGroup is one rule group as /api/v1/rules returns it.
type RuleGroup struct {
	Name string `json:"name"`
	File string `json:"file"`
	// Rules holds AlertingRule and RecordingRule values in file order.
	Rules          []Rule    `json:"rules"`
	Interval       float64   `json:"interval"` // seconds
	Limit          int       `json:"limit"`
	EvaluationTime float64   `json:"evaluationTime"` // seconds
	LastEvaluation time.Time `json:"lastEvaluation"`
}

// Rule is an AlertingRule or a RecordingRule.
type Rule interface {
	ruleName() string
	ruleLabels() labels.Labels
}

// AlertingRule is an alerting rule with its active alerts.
type AlertingRule struct {
	State          string        `json:"state"` // "inactive", "pending" or "firing"
	Name           string        `json:"name"`
	Query          string        `json:"query"`
	Duration       float64       `json:"duration"`      // the for clause, seconds
	KeepFiringFor  float64       `json:"keepFiringFor"` // seconds
	Labels         labels.Labels `json:"labels"`
	Annotations    labels.Labels `json:"annotations"`
	Alerts         []Alert       `json:"alerts"`
	Health         string        `json:"health"` // "ok", "err" or "unknown"
	LastError      string        `json:"lastError,omitempty"`
	EvaluationTime float64       `json:"evaluationTime"`
	LastEvaluation time.Time     `json:"lastEvaluation"`
	Type           string        `json:"type"` // always "alerting"
}

// RecordingRule is a recording rule.
type RecordingRule struct {
	Name           string        `json:"name"`
	Query          string        `json:"query"`
	Labels         labels.Labels `json:"labels"`
	Health         string        `json:"health"`
	LastError      string        `json:"lastError,omitempty"`
	EvaluationTime float64       `json:"evaluationTime"`
	LastEvaluation time.Time     `json:"lastEvaluation"`
	Type           string        `json:"type"` // always "recording"
}

func (r AlertingRule) ruleName() string           { return r.Name }
func (r AlertingRule) ruleLabels() labels.Labels  { return r.Labels }
func (r RecordingRule) ruleName() string          { return r.Name }
func (r RecordingRule) ruleLabels() labels.Labels { return r.Labels }

// Alert is an active alert.
type Alert struct {
	Labels          labels.Labels `json:"labels"`
	Annotations     labels.Labels `json:"annotations"`
	State           string        `json:"state"`
	ActiveAt        *time.Time    `json:"activeAt,omitempty"`
	KeepFiringSince *time.Time    `json:"keepFiringSince,omitempty"`
	Value           string        `json:"value"`
}

type ruleDiscovery struct {
	Groups         []RuleGroup `json:"groups"`
	GroupNextToken string      `json:"groupNextToken,omitempty"`
}

// groupToken identifies a group across requests for pagination.
func groupToken(file, name string) string {
	sum := sha256.Sum256([]byte(file + ";" + name))
	return hex.EncodeToString(sum[:])
}

func stringSet(ss []string) map[string]bool {
	m := make(map[string]bool, len(ss))
	for _, s := range ss {
		m[s] = true
	}
	return m
}

// rules filters the rule groups by type, rule name, group, file and rule
// labels, and pages through groups with group_limit and
// group_next_token. Parameters are checked even while there are no rules,
// so clients see the same errors they will later.
func (a *API) rules(r *http.Request) result {
	if err := r.ParseForm(); err != nil {
		return badData(fmt.Errorf("error parsing form values: %w", err))
	}
	names, groups, files := stringSet(r.Form["rule_name[]"]), stringSet(r.Form["rule_group[]"]), stringSet(r.Form["file[]"])
	var sets [][]*labels.Matcher
	if ms := r.Form["match[]"]; len(ms) > 0 {
		parsed, err := parseMatcherSets(ms)
		if err != nil {
			return badData(err)
		}
		sets = parsed
	}
	q := r.URL.Query()
	typ := strings.ToLower(q.Get("type"))
	if typ != "" && typ != "alert" && typ != "record" {
		return invalidParam(fmt.Errorf("not supported value %q", typ), "type")
	}
	excludeAlerts := false
	if s := strings.ToLower(q.Get("exclude_alerts")); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return invalidParam(fmt.Errorf("error converting exclude_alerts: %w", err), "exclude_alerts")
		}
		excludeAlerts = b
	}
	maxGroups, nextToken := -1, q.Get("group_next_token")
	if s := q.Get("group_limit"); s != "" {
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return invalidParam(fmt.Errorf("group_limit needs to be a valid number: %w", err), "group_limit")
		}
		if n <= 0 {
			return invalidParam(errors.New("group_limit needs to be greater than 0"), "group_limit")
		}
		maxGroups = int(n)
	} else if nextToken != "" {
		return invalidParam(errors.New("group_limit needs to be present in order to paginate over the groups"), "group_next_token")
	}

	var all []RuleGroup
	if a.opts.Rules != nil {
		all = a.opts.Rules.RuleGroups()
	}
	filterRules := typ != "" || len(names) > 0 || len(sets) > 0
	res := ruleDiscovery{Groups: []RuleGroup{}}
	found := nextToken == ""
	for _, g := range all {
		if !found {
			if groupToken(g.File, g.Name) != nextToken {
				continue
			}
			found = true
		}
		if (len(groups) > 0 && !groups[g.Name]) || (len(files) > 0 && !files[g.File]) {
			continue
		}
		out := g
		out.Rules = []Rule{}
		for _, rule := range g.Rules {
			if len(names) > 0 && !names[rule.ruleName()] {
				continue
			}
			if len(sets) > 0 && !matchesAnySet(rule.ruleLabels(), sets) {
				continue
			}
			switch rr := rule.(type) {
			case AlertingRule:
				if typ == "record" {
					continue
				}
				if excludeAlerts {
					rr.Alerts = []Alert{}
				} else if rr.Alerts == nil {
					rr.Alerts = []Alert{}
				}
				out.Rules = append(out.Rules, rr)
			case RecordingRule:
				if typ == "alert" {
					continue
				}
				out.Rules = append(out.Rules, rr)
			}
		}
		if filterRules && len(out.Rules) == 0 {
			continue
		}
		if maxGroups > 0 && len(res.Groups) == maxGroups {
			res.GroupNextToken = groupToken(g.File, g.Name)
			break
		}
		res.Groups = append(res.Groups, out)
	}
	if !found {
		return invalidParam(fmt.Errorf("invalid group_next_token '%v'. were rule groups changed?", nextToken), "group_next_token")
	}
	return result{data: res}
}

func matchesAnySet(ls labels.Labels, sets [][]*labels.Matcher) bool {
	for _, ms := range sets {
		if matchesAll(ls, ms) {
			return true
		}
	}
	return false
}

func (a *API) alerts(*http.Request) result {
	alerts := []Alert{}
	if a.opts.Rules != nil {
		alerts = append(alerts, a.opts.Rules.Alerts()...)
	}
	return result{data: struct {
		Alerts []Alert `json:"alerts"`
	}{alerts}}
}

type alertmanagerTarget struct {
	URL string `json:"url"`
}

func (a *API) alertmanagers(*http.Request) result {
	res := struct {
		Active  []alertmanagerTarget `json:"activeAlertmanagers"`
		Dropped []alertmanagerTarget `json:"droppedAlertmanagers"`
	}{[]alertmanagerTarget{}, []alertmanagerTarget{}}
	if am := a.opts.Alertmanagers; am != nil {
		for _, u := range am.Alertmanagers() {
			res.Active = append(res.Active, alertmanagerTarget{u.String()})
		}
		for _, u := range am.DroppedAlertmanagers() {
			res.Dropped = append(res.Dropped, alertmanagerTarget{u.String()})
		}
	}
	return result{data: res}
}

func (a *API) serveConfig(*http.Request) result {
	yaml := ""
	if a.opts.Config != nil {
		yaml = a.opts.Config()
	}
	return result{data: struct {
		YAML string `json:"yaml"`
	}{yaml}}
}

func (a *API) serveFlags(*http.Request) result {
	flags := a.opts.Flags
	if flags == nil {
		flags = map[string]string{}
	}
	return result{data: flags}
}

type runtimeInfo struct {
	StartTime           time.Time `json:"startTime"`
	CWD                 string    `json:"CWD"`
	Hostname            string    `json:"hostname"`
	ServerTime          time.Time `json:"serverTime"`
	ReloadConfigSuccess bool      `json:"reloadConfigSuccess"`
	LastConfigTime      time.Time `json:"lastConfigTime"`
	CorruptionCount     int64     `json:"corruptionCount"`
	GoroutineCount      int       `json:"goroutineCount"`
	GOMAXPROCS          int       `json:"GOMAXPROCS"`
	GOMEMLIMIT          int64     `json:"GOMEMLIMIT"`
	GOGC                string    `json:"GOGC"`
	GODEBUG             string    `json:"GODEBUG"`
	StorageRetention    string    `json:"storageRetention"`
}

func (a *API) serveRuntimeInfo(*http.Request) result {
	info := runtimeInfo{
		StartTime:        a.opts.StartTime,
		ServerTime:       a.now().UTC(),
		GoroutineCount:   runtime.NumGoroutine(),
		GOMAXPROCS:       runtime.GOMAXPROCS(0),
		GOMEMLIMIT:       debug.SetMemoryLimit(-1),
		GOGC:             os.Getenv("GOGC"),
		GODEBUG:          os.Getenv("GODEBUG"),
		StorageRetention: a.opts.StorageRetention,
	}
	var err error
	if info.CWD, err = os.Getwd(); err != nil {
		info.CWD = "<error retrieving current working directory>"
	}
	if info.Hostname, err = os.Hostname(); err != nil {
		info.Hostname = "<error retrieving hostname>"
	}
	if a.opts.Runtime != nil {
		st := a.opts.Runtime()
		info.ReloadConfigSuccess, info.LastConfigTime, info.CorruptionCount = st.ReloadConfigSuccess, st.LastConfigTime, st.CorruptionCount
	}
	return result{data: info}
}

func (a *API) serveBuildInfo(*http.Request) result {
	bi := a.opts.BuildInfo
	// No "features" map: Grafana takes a non-empty one for Mimir.
	return result{data: struct {
		Version   string `json:"version"`
		Revision  string `json:"revision"`
		Branch    string `json:"branch"`
		BuildUser string `json:"buildUser"`
		BuildDate string `json:"buildDate"`
		GoVersion string `json:"goVersion"`
	}{bi.Version, bi.Revision, bi.Branch, bi.BuildUser, bi.BuildDate, bi.GoVersion}}
}

type headStats struct {
	NumSeries     int   `json:"numSeries"`
	NumLabelPairs int   `json:"numLabelPairs"`
	ChunkCount    int   `json:"chunkCount"`
	MinTime       int64 `json:"minTime"`
	MaxTime       int64 `json:"maxTime"`
}

type tsdbStat struct {
	Name  string `json:"name"`
	Value uint64 `json:"value"`
}

type tsdbStatus struct {
	HeadStats                   headStats  `json:"headStats"`
	SeriesCountByMetricName     []tsdbStat `json:"seriesCountByMetricName"`
	LabelValueCountByLabelName  []tsdbStat `json:"labelValueCountByLabelName"`
	MemoryInBytesByLabelName    []tsdbStat `json:"memoryInBytesByLabelName"`
	SeriesCountByLabelValuePair []tsdbStat `json:"seriesCountByLabelValuePair"`
}

func convertStats(es []tsdb.StatEntry) []tsdbStat {
	out := make([]tsdbStat, len(es))
	for i, e := range es {
		out[i] = tsdbStat{e.Name, e.Value}
	}
	return out
}

// maxTSDBStatusLimit bounds the lists of /status/tsdb.
const maxTSDBStatusLimit = 10000

func (a *API) serveTSDBStatus(r *http.Request) result {
	limit := 10
	if s := r.FormValue("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return badData(errors.New("limit must be a positive number"))
		}
		if n > maxTSDBStatusLimit {
			return badData(fmt.Errorf("limit must not exceed %d", maxTSDBStatusLimit))
		}
		limit = n
	}
	if a.opts.TSDB == nil {
		return result{err: &apiError{errorUnavailable, errors.New("TSDB status is not available")}}
	}
	st, err := a.opts.TSDB.Stats(limit)
	if err != nil {
		return result{err: &apiError{errorInternal, err}}
	}
	return result{data: tsdbStatus{
		HeadStats: headStats{
			NumSeries:     st.NumSeries,
			NumLabelPairs: st.NumLabelPairs,
			ChunkCount:    st.ChunkCount,
			MinTime:       st.MinTime,
			MaxTime:       st.MaxTime,
		},
		SeriesCountByMetricName:     convertStats(st.SeriesCountByMetricName),
		LabelValueCountByLabelName:  convertStats(st.LabelValueCountByLabelName),
		MemoryInBytesByLabelName:    convertStats(st.MemoryInBytesByLabelName),
		SeriesCountByLabelValuePair: convertStats(st.SeriesCountByLabelValuePair),
	}}
}

func (a *API) serveWALReplay(*http.Request) result {
	if a.opts.TSDB == nil {
		return result{err: &apiError{errorUnavailable, errors.New("TSDB status is not available")}}
	}
	st, err := a.opts.TSDB.WALReplayStatus()
	if err != nil {
		return result{err: &apiError{errorInternal, err}}
	}
	return result{data: struct {
		Min     int `json:"min"`
		Max     int `json:"max"`
		Current int `json:"current"`
	}{st.Min, st.Max, st.Current}}
}
