package promql_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/promql/promqltest"
)

// expectedFailuresFile lists the conformance cases known to fail, one
// "file:line reason" per line. The test fails when a listed case passes,
// so the list only ever shrinks.
const expectedFailuresFile = "testdata/expected_failures.txt"

// repoRoot finds the directory holding go.mod above the working directory.
func repoRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

func readExpectedFailures(t *testing.T) map[string]string {
	f, err := os.Open(expectedFailuresFile)
	if err != nil {
		if os.IsNotExist(err) {
			return map[string]string{}
		}
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
		key, reason, _ := strings.Cut(line, " ")
		out[key] = strings.TrimSpace(reason)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestConformance runs the PromQL scripts of the shared conformance corpus.
// Set PROMQL_CONFORMANCE_UPDATE=1 to rewrite the expected failures with the
// current ones.
func TestConformance(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "..", "shared", "conformance", "promql")
	files, _ := filepath.Glob(filepath.Join(dir, "*.test"))
	if len(files) == 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("conformance corpus not found in %s", dir)
		}
		t.Skipf("conformance corpus not found in %s; skipping", dir)
	}
	slices.Sort(files)
	expected := readExpectedFailures(t)
	update := os.Getenv("PROMQL_CONFORMANCE_UPDATE") != ""
	var failures []string
	passed, total := 0, 0
	seen := map[string]bool{}
	for _, path := range files {
		name := filepath.Base(path)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		results, err := promqltest.Run(context.Background(), string(data), promqltest.Options{})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for _, r := range results {
			total++
			key := fmt.Sprintf("%s:%d", name, r.Line)
			seen[key] = true
			_, listed := expected[key]
			switch {
			case r.Err == nil:
				passed++
				if listed && !update {
					t.Errorf("%s passes but is listed in %s; remove it", key, expectedFailuresFile)
				}
			case update:
				failures = append(failures, key+" "+oneLine(r.Err.Error()))
			case !listed:
				t.Errorf("%s: %s: %v", key, r.Expr, r.Err)
			}
		}
	}
	for key := range expected {
		if !seen[key] && !update {
			t.Errorf("%s is listed in %s but is no case", key, expectedFailuresFile)
		}
	}
	if update {
		content := "# Conformance cases known to fail: file:line reason. This list may only shrink.\n" + strings.Join(failures, "\n")
		if len(failures) > 0 {
			content += "\n"
		}
		if err := os.WriteFile(expectedFailuresFile, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	summary := fmt.Sprintf("PromQL conformance: %d/%d passed", passed, total)
	t.Log(summary)
	fmt.Println(summary)
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
