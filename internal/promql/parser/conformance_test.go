package parser

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// conformanceDir returns the directory sub of the shared conformance
// corpus, "shared/conformance" beside the repository root. It skips the
// test when the corpus is absent (a user's clone) and fails it when
// CI=true, where the corpus must be present.
func conformanceDir(t testing.TB, sub string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			t.Fatalf("no go.mod above %s", wd)
		}
		root = parent
	}
	dir := filepath.Join(filepath.Dir(root), "shared", "conformance", sub)
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("conformance corpus %s is missing (required when CI=true): %v", dir, err)
		}
		t.Skipf("conformance corpus %s is absent; skipping", dir)
	}
	return dir
}

// scriptExpr is one query of a PromQL test script.
type scriptExpr struct {
	file       string
	line       int
	expr       string
	expectFail bool
}

var (
	evalInstantRE = regexp.MustCompile(`^eval(?:_fail|_warn|_info|_ordered)?\s+instant\s+at\s+\S+\s+(.+)$`)
	evalRangeRE   = regexp.MustCompile(`^eval(?:_fail|_warn|_info|_ordered)?\s+range\s+from\s+\S+\s+to\s+\S+\s+step\s+\S+\s+(.+)$`)
)

// scriptLine is a trimmed line of a test script with its number.
type scriptLine struct {
	n    int
	text string
}

// readScript returns the trimmed lines of a test script.
func readScript(t *testing.T, path string) []scriptLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []scriptLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		lines = append(lines, scriptLine{n, strings.TrimSpace(sc.Text())})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// scriptExprs extracts the queries of every eval command of the corpus.
func scriptExprs(t *testing.T) []scriptExpr {
	dir := conformanceDir(t, "promql")
	files, err := filepath.Glob(filepath.Join(dir, "*.test"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test scripts in %s: %v", dir, err)
	}
	var out []scriptExpr
	for _, path := range files {
		lines := readScript(t, path)
		for i, l := range lines {
			m := evalInstantRE.FindStringSubmatch(l.text)
			if m == nil {
				m = evalRangeRE.FindStringSubmatch(l.text)
			}
			if m == nil {
				continue
			}
			se := scriptExpr{file: filepath.Base(path), line: l.n, expr: m[1], expectFail: strings.HasPrefix(l.text, "eval_fail")}
			for _, next := range lines[i+1:] {
				if next.text == "" || strings.HasPrefix(next.text, "#") {
					break
				}
				if strings.HasPrefix(next.text, "expect fail") {
					se.expectFail = true
				}
			}
			out = append(out, se)
		}
	}
	return out
}

// TestConformanceScriptExpressions parses every query of the PromQL test
// scripts. Prometheus' test runner parses each query when it loads a
// script, so every one must parse, including those expected to fail (they
// fail when evaluated). Each must also survive a print/parse round trip
// unchanged, and pretty-print to the same tree.
func TestConformanceScriptExpressions(t *testing.T) {
	exprs := scriptExprs(t)
	parsed, failing, failingParsed := 0, 0, 0
	for _, se := range exprs {
		if se.expectFail {
			failing++
		}
		e, err := ParseExpr(se.expr)
		if err != nil {
			t.Errorf("%s:%d: %q: %v", se.file, se.line, se.expr, err)
			continue
		}
		parsed++
		if se.expectFail {
			failingParsed++
		}
		if msg := roundTrip(e); msg != "" {
			t.Errorf("%s:%d: %q: %s", se.file, se.line, se.expr, msg)
		}
	}
	t.Logf("conformance: promql parser: %d/%d script queries parse and round-trip (%d/%d of the expect-fail queries parse; they fail at evaluation)",
		parsed, len(exprs), failingParsed, failing)
	if len(exprs) < 2000 {
		t.Errorf("found only %d eval queries; the corpus has about 2194", len(exprs))
	}
}

// roundTrip checks that printing e and parsing the text gives the same tree
// and the same text, and that the pretty form parses to the same tree. It
// returns a description of the first difference, or "".
func roundTrip(e Expr) string {
	printed := e.String()
	again, err := ParseExpr(printed)
	if err != nil {
		return fmt.Sprintf("printed form %q does not parse: %v", printed, err)
	}
	if got := again.String(); got != printed {
		return fmt.Sprintf("printed form %q prints as %q after parsing", printed, got)
	}
	if a, b := dump(e), dump(again); a != b {
		return fmt.Sprintf("printed form %q parses to a different tree:\n%s\nwant\n%s", printed, b, a)
	}
	pretty := Prettify(e)
	fromPretty, err := ParseExpr(pretty)
	if err != nil {
		return fmt.Sprintf("pretty form %q does not parse: %v", pretty, err)
	}
	if a, b := dump(e), dump(fromPretty); a != b {
		return fmt.Sprintf("pretty form %q parses to a different tree:\n%s\nwant\n%s", pretty, b, a)
	}
	return ""
}

// TestConformanceScriptSeries parses every series line of the load
// commands of the PromQL test scripts, the notation ParseSeriesDesc serves.
// A start-timestamp line (metric{...}@st) is parsed without its marker,
// which the script runner strips.
func TestConformanceScriptSeries(t *testing.T) {
	dir := conformanceDir(t, "promql")
	files, err := filepath.Glob(filepath.Join(dir, "*.test"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test scripts in %s: %v", dir, err)
	}
	total, ok, values, histograms := 0, 0, 0, 0
	for _, path := range files {
		inLoad := false
		for _, l := range readScript(t, path) {
			switch {
			case l.text == "" || strings.HasPrefix(l.text, "#"):
				inLoad = false
				continue
			case strings.HasPrefix(l.text, "load ") || strings.HasPrefix(l.text, "load_with_nhcb "):
				inLoad = true
				continue
			case !inLoad:
				continue
			}
			total++
			line := l.text
			if metric, rest, found := strings.Cut(line, "@st"); found && !strings.ContainsAny(metric, " \t") {
				line = metric + rest
			}
			_, vals, err := ParseSeriesDesc(line)
			if err != nil {
				t.Errorf("%s:%d: %q: %v", filepath.Base(path), l.n, l.text, err)
				continue
			}
			ok++
			values += len(vals)
			for _, v := range vals {
				if v.Histogram != nil {
					histograms++
				}
			}
		}
	}
	t.Logf("conformance: promql parser: %d/%d script series lines parse (%d values, %d of them native histograms)", ok, total, values, histograms)
	if total < 500 {
		t.Errorf("found only %d series lines", total)
	}
}
