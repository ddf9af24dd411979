// Package promqltest owns the runner of PromQL test scripts, the .test
// format Prometheus keeps its query semantics in: load series into an
// in-memory storage, evaluate queries at instants or over ranges, and
// compare results, failures and annotations with the expectations written
// under each query. Every instant query is also checked with @ added to its
// selectors at other evaluation times, and as a range query around its
// time, which catches bugs the plain expectations do not.
package promqltest

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

// A script is a sequence of commands.
type command interface{ line() int }

// loadCmd loads series sampled every step from time 0.
type loadCmd struct {
	at     int
	step   time.Duration
	nhcb   bool // load_with_nhcb: also store classic histograms as native ones.
	series []loadSeries
}

type loadSeries struct {
	metric labels.Labels
	values []parser.SequenceValue
	// starts are the start timestamp offsets (seconds) of the values, from
	// a "metric@st" line; nil when there is none.
	starts []parser.SequenceValue
}

func (c *loadCmd) line() int { return c.at }

// clearCmd drops all data.
type clearCmd struct{ at int }

func (c *clearCmd) line() int { return c.at }

// expectation is a "msg:" or "regex:" of an expect line; both empty means
// anything matches.
type expectation struct {
	message string
	regex   *regexp.Regexp
}

func (e expectation) matches(s string) bool {
	switch {
	case e.regex != nil:
		return e.regex.MatchString(s)
	case e.message != "":
		return e.message == s
	}
	return true
}

func (e expectation) String() string {
	if e.regex != nil {
		return "regex " + e.regex.String()
	}
	return "message " + strconv.Quote(e.message)
}

// expectedSeries is one result line: a label set with its value(s).
type expectedSeries struct {
	metric labels.Labels
	values []parser.SequenceValue
	pos    int // 1-based position among the result lines.
}

// evalCmd evaluates a query and holds what is expected of it.
type evalCmd struct {
	at   int
	expr string

	isRange          bool
	evalTime         time.Duration // Instant queries.
	start, end, step time.Duration // Range queries.

	fail       *expectation
	warnings   []expectation
	infos      []expectation
	noWarn     bool
	noInfo     bool
	ordered    bool
	str        *string
	rangeFrom  time.Duration // expect range vector from ... to ... step
	rangeTo    time.Duration
	rangeStep  time.Duration
	isRangeVec bool
	scalar     *float64
	series     []expectedSeries
}

func (c *evalCmd) line() int { return c.at }

var (
	patLoad    = regexp.MustCompile(`^(load|load_with_nhcb)\s+(\S+)$`)
	patInstant = regexp.MustCompile(`^(eval|eval_fail|eval_warn|eval_info|eval_ordered)\s+instant\s+at\s+(\S+)\s+(.+)$`)
	patRange   = regexp.MustCompile(`^(eval|eval_fail|eval_warn|eval_info)\s+range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.+)$`)
	patRangeVe = regexp.MustCompile(`^range\s+vector\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)$`)
	patSTLine  = regexp.MustCompile(`^(.*?)@st(\s.*)$`)
)

// parseScript splits a script into commands. Line numbers are 1-based.
func parseScript(input string) ([]command, error) {
	lines := strings.Split(input, "\n")
	for i, l := range lines {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "#") {
			l = ""
		}
		lines[i] = l
	}
	var cmds []command
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if l == "" {
			continue
		}
		word := strings.Fields(l)[0]
		switch {
		case word == "clear":
			cmds = append(cmds, &clearCmd{at: i + 1})
		case word == "load" || word == "load_with_nhcb":
			cmd, next, err := parseLoad(lines, i)
			if err != nil {
				return nil, err
			}
			cmds = append(cmds, cmd)
			i = next
		case strings.HasPrefix(word, "eval"):
			cmd, next, err := parseEval(lines, i)
			if err != nil {
				return nil, err
			}
			cmds = append(cmds, cmd)
			i = next
		default:
			return nil, fmt.Errorf("line %d: invalid command %q", i+1, l)
		}
	}
	return cmds, nil
}

// parseDuration parses a time of the script: a Prometheus duration from
// time 0, or a plain number of seconds.
func parseDuration(s string) (time.Duration, error) {
	if d, err := parser.ParseDuration(s); err == nil {
		return d, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return time.Duration(f * float64(time.Second)), nil
}

func parseLoad(lines []string, i int) (*loadCmd, int, error) {
	m := patLoad.FindStringSubmatch(lines[i])
	if m == nil {
		return nil, i, fmt.Errorf("line %d: invalid load command %q", i+1, lines[i])
	}
	step, err := parseDuration(m[2])
	if err != nil {
		return nil, i, fmt.Errorf("line %d: %w", i+1, err)
	}
	cmd := &loadCmd{at: i + 1, step: step, nhcb: m[1] == "load_with_nhcb"}
	var pendingST []parser.SequenceValue
	var pendingMetric labels.Labels
	for i+1 < len(lines) && lines[i+1] != "" {
		i++
		l := lines[i]
		if sm := patSTLine.FindStringSubmatch(l); sm != nil && !strings.Contains(sm[1], " ") {
			metric, vals, err := parser.ParseSeriesDesc(sm[1] + sm[2])
			if err != nil {
				return nil, i, fmt.Errorf("line %d: %w", i+1, err)
			}
			pendingST, pendingMetric = vals, metric
			continue
		}
		metric, vals, err := parser.ParseSeriesDesc(l)
		if err != nil {
			return nil, i, fmt.Errorf("line %d: %w", i+1, err)
		}
		s := loadSeries{metric: metric, values: vals}
		if pendingST != nil && labels.Equal(pendingMetric, metric) {
			s.starts = pendingST
		}
		pendingST = nil
		// A series described twice takes the later description.
		if j := slices.IndexFunc(cmd.series, func(o loadSeries) bool { return labels.Equal(o.metric, metric) }); j >= 0 {
			cmd.series[j] = s
			continue
		}
		cmd.series = append(cmd.series, s)
	}
	return cmd, i, nil
}

func parseEval(lines []string, i int) (*evalCmd, int, error) {
	l := lines[i]
	cmd := &evalCmd{at: i + 1}
	var kind string
	if m := patInstant.FindStringSubmatch(l); m != nil {
		kind = m[1]
		t, err := parseDuration(m[2])
		if err != nil {
			return nil, i, fmt.Errorf("line %d: %w", i+1, err)
		}
		cmd.evalTime, cmd.expr = t, m[3]
	} else if m := patRange.FindStringSubmatch(l); m != nil {
		kind = m[1]
		var err error
		if cmd.start, err = parseDuration(m[2]); err == nil {
			if cmd.end, err = parseDuration(m[3]); err == nil {
				cmd.step, err = parseDuration(m[4])
			}
		}
		if err != nil {
			return nil, i, fmt.Errorf("line %d: %w", i+1, err)
		}
		cmd.isRange, cmd.expr = true, m[5]
	} else {
		return nil, i, fmt.Errorf("line %d: invalid eval command %q", i+1, l)
	}
	switch kind {
	case "eval_fail":
		cmd.fail = &expectation{}
	case "eval_warn":
		cmd.warnings = append(cmd.warnings, expectation{})
	case "eval_info":
		cmd.infos = append(cmd.infos, expectation{})
	case "eval_ordered":
		cmd.ordered = true
	}
	pos := 0
	for i+1 < len(lines) && lines[i+1] != "" {
		i++
		l := lines[i]
		if err := cmd.parseExpectLine(l, &pos); err != nil {
			return nil, i, fmt.Errorf("line %d: %w", i+1, err)
		}
	}
	return cmd, i, nil
}

// parseMessage parses what follows "expect <kind>": nothing, "msg: x" or
// "regex: x".
func parseMessage(rest string) (expectation, error) {
	rest = strings.TrimSpace(rest)
	switch {
	case rest == "":
		return expectation{}, nil
	case strings.HasPrefix(rest, "msg:"):
		return expectation{message: strings.TrimSpace(strings.TrimPrefix(rest, "msg:"))}, nil
	case strings.HasPrefix(rest, "regex:"):
		re, err := regexp.Compile(strings.TrimSpace(strings.TrimPrefix(rest, "regex:")))
		if err != nil {
			return expectation{}, err
		}
		return expectation{regex: re}, nil
	}
	return expectation{}, fmt.Errorf("invalid expectation %q", rest)
}

func (c *evalCmd) parseExpectLine(l string, pos *int) error {
	switch {
	case strings.HasPrefix(l, "expected_fail_message"):
		c.fail = &expectation{message: strings.TrimSpace(strings.TrimPrefix(l, "expected_fail_message"))}
		return nil
	case strings.HasPrefix(l, "expected_fail_regexp"):
		re, err := regexp.Compile(strings.TrimSpace(strings.TrimPrefix(l, "expected_fail_regexp")))
		if err != nil {
			return err
		}
		c.fail = &expectation{regex: re}
		return nil
	case strings.HasPrefix(l, "expect "):
		return c.parseExpect(strings.TrimSpace(strings.TrimPrefix(l, "expect ")))
	}
	// A bare number is a scalar result.
	if f, err := parseNumber(l); err == nil {
		c.scalar = &f
		return nil
	}
	metric, vals, err := parser.ParseSeriesDesc(l)
	if err != nil {
		return err
	}
	*pos++
	c.series = append(c.series, expectedSeries{metric: metric, values: vals, pos: *pos})
	return nil
}

func (c *evalCmd) parseExpect(rest string) error {
	kind, arg, _ := strings.Cut(rest, " ")
	switch kind {
	case "fail":
		e, err := parseMessage(arg)
		if err != nil {
			return err
		}
		c.fail = &e
	case "warn":
		e, err := parseMessage(arg)
		if err != nil {
			return err
		}
		c.warnings = append(c.warnings, e)
	case "info":
		e, err := parseMessage(arg)
		if err != nil {
			return err
		}
		c.infos = append(c.infos, e)
	case "no_warn":
		c.noWarn = true
	case "no_info":
		c.noInfo = true
	case "ordered":
		c.ordered = true
	case "string":
		s, err := strconv.Unquote(strings.TrimSpace(arg))
		if err != nil {
			return fmt.Errorf("invalid string expectation %q: %w", arg, err)
		}
		c.str = &s
	case "range":
		m := patRangeVe.FindStringSubmatch(strings.TrimSpace(rest))
		if m == nil {
			return fmt.Errorf("invalid range vector expectation %q", rest)
		}
		var err error
		if c.rangeFrom, err = parseDuration(m[1]); err == nil {
			if c.rangeTo, err = parseDuration(m[2]); err == nil {
				c.rangeStep, err = parseDuration(m[3])
			}
		}
		if err != nil {
			return err
		}
		c.isRangeVec = true
	default:
		return fmt.Errorf("invalid expectation %q", rest)
	}
	return nil
}

// parseNumber parses a scalar result line.
func parseNumber(s string) (float64, error) {
	if n, err := strconv.ParseInt(s, 0, 64); err == nil {
		return float64(n), nil
	}
	return strconv.ParseFloat(s, 64)
}
