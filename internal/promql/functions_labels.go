package promql

import (
	"context"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

// funcSort orders float samples by ascending value, NaN last; histograms
// are dropped. The order of equal values is that of Prometheus, which
// sorts with the same (unstable) algorithm and comparison.
func funcSort(vals []Vector, _ Matrix, _ parser.Expressions, _ *evalNodeHelper) Vector {
	v := floatsOnly(vals[0])
	sort.Sort(vectorSorter{v, func(a, b float64) bool { return math.IsNaN(b) || b > a }})
	return v
}

// funcSortDesc orders float samples by descending value, NaN last.
func funcSortDesc(vals []Vector, _ Matrix, _ parser.Expressions, _ *evalNodeHelper) Vector {
	v := floatsOnly(vals[0])
	sort.Sort(vectorSorter{v, func(a, b float64) bool { return math.IsNaN(b) || b < a }})
	return v
}

// vectorSorter sorts a vector by sample value with a given order.
type vectorSorter struct {
	v    Vector
	less func(a, b float64) bool
}

func (s vectorSorter) Len() int           { return len(s.v) }
func (s vectorSorter) Less(i, j int) bool { return s.less(s.v[i].F, s.v[j].F) }
func (s vectorSorter) Swap(i, j int)      { s.v[i], s.v[j] = s.v[j], s.v[i] }

func floatsOnly(v Vector) Vector {
	out := v[:0]
	for _, s := range v {
		if s.H == nil {
			out = append(out, s)
		}
	}
	return out
}

func funcSortByLabel(vals []Vector, _ Matrix, args parser.Expressions, _ *evalNodeHelper) Vector {
	return sortByLabels(vals[0], args[1:], false)
}

func funcSortByLabelDesc(vals []Vector, _ Matrix, args parser.Expressions, _ *evalNodeHelper) Vector {
	return sortByLabels(vals[0], args[1:], true)
}

// sortByLabels orders samples by the values of the named labels in natural
// order (numbers within values compare as numbers), then by their whole
// label sets so that the order is total.
func sortByLabels(v Vector, names parser.Expressions, desc bool) Vector {
	keys := make([]string, len(names))
	for i, n := range names {
		keys[i] = n.(*parser.StringLiteral).Val
	}
	slices.SortFunc(v, func(a, b Sample) int {
		c := 0
		for _, k := range keys {
			if va, vb := a.Metric.Get(k), b.Metric.Get(k); va != vb {
				if naturalLess(va, vb) {
					c = -1
				} else {
					c = 1
				}
				break
			}
		}
		if c == 0 {
			c = labels.Compare(a.Metric, b.Metric)
		}
		if desc {
			return -c
		}
		return c
	})
	return v
}

// naturalLess compares strings split into runs of digits and of other
// characters, comparing digit runs as numbers: "cpu2" < "cpu10".
func naturalLess(a, b string) bool {
	ca, cb := naturalChunks(a), naturalChunks(b)
	for i := range ca {
		if i >= len(cb) {
			return false
		}
		na, errA := strconv.Atoi(ca[i])
		nb, errB := strconv.Atoi(cb[i])
		var equal bool
		if errA == nil && errB == nil {
			if na != nb {
				return na < nb
			}
			equal = true
		} else {
			if ca[i] != cb[i] {
				return ca[i] < cb[i]
			}
			equal = true
		}
		if equal {
			if i == len(ca)-1 {
				return true
			}
			if i == len(cb)-1 {
				return false
			}
		}
	}
	return false
}

func naturalChunks(s string) []string {
	var out []string
	start := 0
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	for i := 1; i <= len(s); i++ {
		if i == len(s) || isDigit(s[i]) != isDigit(s[start]) {
			out = append(out, s[start:i])
			start = i
		}
	}
	return out
}

// isValidLabelName reports whether a label name is acceptable: any
// non-empty UTF-8 string.
func isValidLabelName(n string) bool { return n != "" && utf8.ValidString(n) }

// evalLabelReplace evaluates label_replace(v, dst, replacement, src,
// regex): where regex matches the whole value of src, dst is set to the
// replacement with $1-style references expanded.
func (ev *evaluator) evalLabelReplace(ctx context.Context, args parser.Expressions) Value {
	dst := stringArg(args[1])
	repl := stringArg(args[2])
	src := stringArg(args[3])
	pattern := stringArg(args[4])
	re, err := labelReplaceRegexp(pattern)
	if err != nil {
		ev.errorf("invalid regular expression in label_replace(): %s", pattern)
	}
	if !isValidLabelName(dst) {
		ev.errorf("invalid destination label name in label_replace(): %s", dst)
	}
	mat := ev.eval(ctx, args[0]).(Matrix)
	lb := labels.NewBuilder(labels.EmptyLabels())
	// "(.*)" copies a label, the most common use: it matches every value
	// whole, so the match is known without running the expression (which
	// allocates its result).
	copyAll := pattern == "(.*)"
	var whole [4]int
	var res []byte
	for i, s := range mat {
		v := s.Metric.Get(src)
		var idx []int
		if copyAll {
			whole = [4]int{0, len(v), 0, len(v)}
			idx = whole[:]
		} else if idx = re.FindStringSubmatchIndex(v); idx == nil {
			continue
		}
		res = re.ExpandString(res[:0], repl, v, idx)
		lb.Reset(s.Metric)
		lb.Set(dst, string(res))
		mat[i].Metric = lb.Labels()
		if dst == labels.MetricName {
			// A name set explicitly is kept.
			mat[i].DropName = false
		}
	}
	return ev.mergeSeriesWithSameLabelset(mat)
}

// evalLabelJoin evaluates label_join(v, dst, separator, src...): dst is set
// to the values of the src labels joined with the separator.
func (ev *evaluator) evalLabelJoin(ctx context.Context, args parser.Expressions) Value {
	dst := stringArg(args[1])
	sep := stringArg(args[2])
	srcs := make([]string, 0, len(args)-3)
	for _, a := range args[3:] {
		src := stringArg(a)
		if !isValidLabelName(src) {
			ev.errorf("invalid source label name in label_join(): %s", src)
		}
		srcs = append(srcs, src)
	}
	if !isValidLabelName(dst) {
		ev.errorf("invalid destination label name in label_join(): %s", dst)
	}
	mat := ev.eval(ctx, args[0]).(Matrix)
	vals := make([]string, len(srcs))
	lb := labels.NewBuilder(labels.EmptyLabels())
	for i, s := range mat {
		for j, src := range srcs {
			vals[j] = s.Metric.Get(src)
		}
		lb.Reset(s.Metric)
		lb.Set(dst, strings.Join(vals, sep))
		mat[i].Metric = lb.Labels()
		if dst == labels.MetricName {
			mat[i].DropName = false
		}
	}
	return ev.mergeSeriesWithSameLabelset(mat)
}

// labelReplaceRegexps caches the compiled regular expressions of
// label_replace by pattern: dashboards run the same few patterns over and
// over, and compiling one is a large part of an instant label_replace
// over a few series. A compiled expression is safe for concurrent use. The
// cache is emptied when full, which bounds it without the bookkeeping of
// an LRU.
var labelReplaceRegexps struct {
	sync.Mutex
	byPattern map[string]*regexp.Regexp
}

const maxCachedLabelReplaceRegexps = 256

func labelReplaceRegexp(pattern string) (*regexp.Regexp, error) {
	c := &labelReplaceRegexps
	c.Lock()
	re, ok := c.byPattern[pattern]
	c.Unlock()
	if ok {
		return re, nil
	}
	re, err := regexp.Compile("^(?s:" + pattern + ")$")
	if err != nil {
		return nil, err
	}
	c.Lock()
	if c.byPattern == nil || len(c.byPattern) >= maxCachedLabelReplaceRegexps {
		c.byPattern = map[string]*regexp.Regexp{}
	}
	c.byPattern[pattern] = re
	c.Unlock()
	return re, nil
}

func stringArg(e parser.Expr) string {
	return unwrapParens(unwrapStepInvariant(e)).(*parser.StringLiteral).Val
}
