package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--version"}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	for _, want := range []string{"vigil, version ", "branch: ", "revision: ", "build date:", "go version:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--version output lacks %q:\n%s", want, out.String())
		}
	}
}

// A bare `vigil` runs the server (see server_test.go), so the usage is
// checked through --help, which must also list the server and its flags.
func TestBareRunPrintsUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--help"}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	for _, want := range []string{"usage: vigil", "server*", "tool check metrics"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run([]string{"server", "--help"}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("server --help: exit %d, stderr %q", code, errOut.String())
	}
	for _, want := range []string{"--config.file", "--web.listen-address", "--storage.tsdb.retention.time", "--query.max-samples"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("server --help output lacks %q", want)
		}
	}
}

func TestUnknownFlagIsAnError(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--no-such-flag"}, strings.NewReader(""), &out, &errOut); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if !strings.Contains(errOut.String(), "no-such-flag") {
		t.Errorf("error does not name the flag: %q", errOut.String())
	}
}

func TestToolCheckMetrics(t *testing.T) {
	for _, tc := range []struct {
		name, input string
		code        int
		stderr      string
	}{
		{"clean", "# HELP up Up.\n# TYPE up gauge\nup 1\n", 0, ""},
		{"lint problem", "# TYPE requests counter\nrequests 1\n", 3, "requests counter metrics should have \"_total\" suffix"},
		{"openmetrics", "# HELP up Up.\n# TYPE up gauge\nup 1\n# EOF\n", 0, ""},
		{"parse error names the line", "up 1\nup{ 2\n", 1, "line 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run([]string{"tool", "check", "metrics"}, strings.NewReader(tc.input), &out, &errOut)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr %q", code, tc.code, errOut.String())
			}
			if !strings.Contains(errOut.String(), tc.stderr) {
				t.Errorf("stderr %q lacks %q", errOut.String(), tc.stderr)
			}
		})
	}
}
