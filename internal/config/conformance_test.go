package config_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v2"

	"github.com/vigil-monitoring/vigil/internal/config"
	"github.com/vigil-monitoring/vigil/internal/discovery"

	// The mechanisms a server binary links in; the conformance corpus uses
	// them. This is an external test package, so importing the
	// mechanisms (a layer above config) does not make config depend on
	// them.
	_ "github.com/vigil-monitoring/vigil/internal/discovery/dns"
	_ "github.com/vigil-monitoring/vigil/internal/discovery/file"
	_ "github.com/vigil-monitoring/vigil/internal/discovery/http"
)

// corpusDir finds the shared conformance corpus next to the repository.
func corpusDir(t *testing.T) string {
	t.Helper()
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source")
	}
	repo := filepath.Join(filepath.Dir(self), "..", "..")
	dir, err := filepath.Abs(filepath.Join(repo, "..", "shared", "conformance", "config"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("conformance corpus missing at %s (required in CI): %v", dir, err)
		}
		t.Skipf("conformance corpus not found at %s; skipping", dir)
	}
	return dir
}

type expectedError struct {
	File          string `json:"file"`
	ErrorContains string `json:"error_contains"`
}

// loadDifferences reads testdata/expected_differences.txt: "file: reason"
// per line, '#' comments.
func loadDifferences(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open("testdata/expected_differences.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		file, reason, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(reason) == "" {
			t.Fatalf("expected_differences.txt: line %q lacks a reason", line)
		}
		out[strings.TrimSpace(file)] = strings.TrimSpace(reason)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// loadFull loads a file the way the server does on start-up, including
// the scrape_config_files it names.
func loadFull(name string) error {
	cfg, err := config.LoadFile(name, false, nil)
	if err != nil {
		return err
	}
	_, err = cfg.GetScrapeConfigs()
	return err
}

func TestConformance(t *testing.T) {
	corpus := corpusDir(t)
	diffs := loadDifferences(t)

	raw, err := os.ReadFile(filepath.Join(corpus, "expected_errors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var expected []expectedError
	if err := json.Unmarshal(raw, &expected); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, e := range expected {
		want[e.File] = e.ErrorContains
	}

	good, err := filepath.Glob(filepath.Join(corpus, "*.good.yml"))
	if err != nil {
		t.Fatal(err)
	}
	nested, _ := filepath.Glob(filepath.Join(corpus, "scrape_configs", "*.good.yml"))
	good = append(good, nested...)
	bad, _ := filepath.Glob(filepath.Join(corpus, "*.bad.yml"))
	sort.Strings(good)
	sort.Strings(bad)

	// Upstream loads the corpus as testdata/<file>, and some expected
	// messages contain that path: reproduce it with a symlink.
	work := t.TempDir()
	if err := os.Symlink(corpus, filepath.Join(work, "testdata")); err != nil {
		t.Fatal(err)
	}
	diffsCopy := map[string]string{}
	for k, v := range diffs {
		diffsCopy[k] = v
	}
	t.Chdir(work)

	rel := func(path string) string {
		r, _ := filepath.Rel(corpus, path)
		return filepath.ToSlash(r)
	}
	check := func(name string, pass bool, detail string) bool {
		reason, listed := diffsCopy[name]
		delete(diffsCopy, name)
		switch {
		case pass && listed:
			t.Errorf("%s passes but is listed as an expected difference (%s): remove it from testdata/expected_differences.txt", name, reason)
		case !pass && !listed:
			t.Errorf("%s: %s", name, detail)
		}
		return pass
	}

	goodOK := 0
	for _, path := range good {
		name := rel(path)
		err := loadFull(filepath.Join("testdata", name))
		if check(name, err == nil, fmt.Sprintf("should load, got %v", err)) {
			goodOK++
		}
	}
	badOK := 0
	for _, path := range bad {
		name := rel(path)
		substr, ok := want[name]
		if !ok {
			t.Errorf("%s has no entry in expected_errors.json", name)
			continue
		}
		var err error
		if name == "static_config.bad.yml" {
			// Not a full configuration: one target group, decoded strictly.
			content, rerr := os.ReadFile(path)
			if rerr != nil {
				t.Fatal(rerr)
			}
			var tg discovery.TargetGroup
			err = yaml.UnmarshalStrict(content, &tg)
		} else {
			err = loadFull(filepath.Join("testdata", name))
		}
		// Parenthesised expectations describe, rather than quote, the
		// error: any error will do.
		anyError := strings.HasPrefix(substr, "(")
		pass := err != nil && (anyError || strings.Contains(err.Error(), substr))
		if check(name, pass, fmt.Sprintf("want error containing %q, got %v", substr, err)) {
			badOK++
		}
	}
	for name := range diffsCopy {
		t.Errorf("expected_differences.txt lists %s, which is not in the corpus", name)
	}

	line := fmt.Sprintf("Config conformance: good %d/%d loaded, bad %d/%d rejected with the expected error (%d listed as expected differences)",
		goodOK, len(good), badOK, len(bad), len(diffs))
	t.Logf("%s", line)
	fmt.Printf("%s\n", line)
}
