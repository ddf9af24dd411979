package exposition

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// conformanceDir returns the directory sub of the shared conformance corpus,
// which lives in the directory "shared/conformance" next to the repository
// root (the directory holding go.mod). It skips the test when the corpus is
// absent, as in a user's clone, and fails it when CI=true, where the corpus
// must be present.
func conformanceDir(t testing.TB, sub string) string {
	t.Helper()
	dir, err := findConformanceDir(sub)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("conformance corpus is missing (required when CI=true): %v", err)
		}
		t.Skipf("conformance corpus is absent; skipping: %v", err)
	}
	return dir
}

// findConformanceDir locates sub of the conformance corpus without
// involving a test, for callers (fuzz seeding) that use it when present and
// carry on without it otherwise.
func findConformanceDir(sub string) (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			return "", fmt.Errorf("no go.mod above %s", wd)
		}
		root = parent
	}
	dir := filepath.Join(filepath.Dir(root), "shared", "conformance", sub)
	if _, err := os.Stat(dir); err != nil {
		return "", err
	}
	return dir, nil
}

// drain runs p to the end, calling every accessor for each entry the way a
// scrape does, and returns the error that ended it (nil for io.EOF).
func drain(p Parser) error {
	var sb labels.ScratchBuilder
	var ex exemplar.Exemplar
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch e {
		case EntrySeries:
			p.Series()
			p.Labels(&sb)
			sb.Labels()
			for p.Exemplar(&ex) {
			}
			p.CreatedTimestamp()
		case EntryHelp:
			p.Help()
		case EntryType:
			p.Type()
		case EntryUnit:
			p.Unit()
		case EntryComment:
			p.Comment()
		}
	}
}

type omCase struct {
	name        string
	body        []byte
	shouldParse bool
	promAccepts bool
}

func loadOMCases(t *testing.T) []omCase {
	dir := conformanceDir(t, "exposition/openmetrics")
	refData, err := os.ReadFile(filepath.Join(filepath.Dir(dir), "openmetrics-lenient-reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref []struct {
		Case        string `json:"case"`
		ShouldParse bool   `json:"shouldParse"`
		PromAccepts bool   `json:"prometheus_v3_14_0_textparse_accepts"`
	}
	if err := json.Unmarshal(refData, &ref); err != nil {
		t.Fatal(err)
	}
	prom := map[string]bool{}
	for _, r := range ref {
		prom[r.Case] = r.PromAccepts
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var cases []omCase
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		meta, err := os.ReadFile(filepath.Join(dir, e.Name(), "test.json"))
		if err != nil {
			t.Fatal(err)
		}
		var tj struct {
			Type        string `json:"type"`
			File        string `json:"file"`
			ShouldParse bool   `json:"shouldParse"`
		}
		if err := json.Unmarshal(meta, &tj); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		if tj.Type != "text" {
			continue
		}
		body, err := os.ReadFile(filepath.Join(dir, e.Name(), tj.File))
		if err != nil {
			t.Fatal(err)
		}
		pa, ok := prom[e.Name()]
		if !ok {
			t.Fatalf("case %s is missing from the lenient reference", e.Name())
		}
		cases = append(cases, omCase{name: e.Name(), body: body, shouldParse: tj.ShouldParse, promAccepts: pa})
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].name < cases[j].name })
	return cases
}

func TestOpenMetricsConformance(t *testing.T) {
	cases := loadOMCases(t)
	var good, bad, badPromAccepts int
	var lenientGood, lenientBadProm, strictBad, strictGood int
	var failures []string
	for _, c := range cases {
		lenientErr := drain(NewOpenMetricsParser(c.body, Options{}))
		strictErr := drain(NewOpenMetricsParser(c.body, Options{Strict: true}))
		// The scraper's configuration: _created lines folded into
		// created timestamps must not change acceptance.
		skipErr := drain(NewOpenMetricsParser(c.body, Options{SkipCreatedSeries: true}))
		if (skipErr == nil) != (lenientErr == nil) {
			failures = append(failures, fmt.Sprintf("%s: SkipCreatedSeries changes acceptance: %v vs %v", c.name, skipErr, lenientErr))
		}
		if strictErr == nil && lenientErr != nil {
			failures = append(failures, fmt.Sprintf("%s: strict accepts what lenient rejects: %v", c.name, lenientErr))
		}
		if c.shouldParse {
			good++
			if lenientErr == nil {
				lenientGood++
			} else {
				failures = append(failures, fmt.Sprintf("%s: lenient rejects a good case: %v", c.name, lenientErr))
			}
			if strictErr == nil {
				strictGood++
			} else {
				failures = append(failures, fmt.Sprintf("%s: strict rejects a good case: %v", c.name, strictErr))
			}
			continue
		}
		bad++
		if strictErr != nil {
			strictBad++
		} else {
			failures = append(failures, fmt.Sprintf("%s: strict accepts a bad case", c.name))
		}
		if c.promAccepts {
			badPromAccepts++
			if lenientErr == nil {
				lenientBadProm++
			} else {
				failures = append(failures, fmt.Sprintf("%s: lenient rejects a case Prometheus accepts: %v", c.name, lenientErr))
			}
		}
	}
	summary := fmt.Sprintf("OpenMetrics conformance: lenient accepts good %d/%d, lenient accepts %d/%d of the bad cases Prometheus accepts, strict rejects %d/%d bad, strict accepts good %d/%d",
		lenientGood, good, lenientBadProm, badPromAccepts, strictBad, bad, strictGood, good)
	t.Log(summary)
	fmt.Println(summary)
	if good != 44 || bad != 167 || badPromAccepts != 80 {
		t.Errorf("corpus changed: %d good, %d bad, %d bad cases Prometheus accepts; want 44, 167, 80", good, bad, badPromAccepts)
	}
	for _, f := range failures {
		t.Error(f)
	}
}

// strictSampleViolations lists the corpus payloads that break an
// OpenMetrics 1.0 rule, with the part of the error strict mode must give.
// alltypes.5mfs.om.txt comes from client_golang, which writes _sum for a
// histogram with negative bucket bounds; the specification forbids that
// (such a sum is no longer a counter), Prometheus tolerates it.
var strictSampleViolations = map[string]string{
	"alltypes.5mfs.om.txt": "negative",
}

// TestConformanceSamples parses every real payload of the corpus with the
// parser its extension names: in scraping mode they must all parse; in
// strict mode they must parse too unless strictSampleViolations names the
// rule they break.
func TestConformanceSamples(t *testing.T) {
	dir := conformanceDir(t, "exposition/samples")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		body, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasSuffix(e.Name(), ".prom.txt"):
			n++
			for _, strict := range []bool{false, true} {
				if err := drain(NewTextParser(body, Options{Strict: strict})); err != nil {
					t.Errorf("%s (strict=%v): %v", e.Name(), strict, err)
				}
			}
		case strings.HasSuffix(e.Name(), ".om.txt"):
			n++
			for _, opts := range []Options{{}, {SkipCreatedSeries: true}} {
				if err := drain(NewOpenMetricsParser(body, opts)); err != nil {
					t.Errorf("%s (%+v): %v", e.Name(), opts, err)
				}
			}
			err := drain(NewOpenMetricsParser(body, Options{Strict: true}))
			want, violates := strictSampleViolations[e.Name()]
			switch {
			case !violates && err != nil:
				t.Errorf("%s (strict): %v", e.Name(), err)
			case violates && (err == nil || !strings.Contains(err.Error(), want)):
				t.Errorf("%s (strict): got error %v, want one mentioning %q", e.Name(), err, want)
			}
		}
	}
	if n == 0 {
		t.Fatalf("no samples in %s", dir)
	}
}
