package promql_test

import (
	"path/filepath"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/promql/promqltest"
)

// TestEngineScripts runs the project's own test scripts in testdata.
func TestEngineScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no test scripts in testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { promqltest.RunFile(t, f) })
	}
}
