package scripttest

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestScripts runs every script in testdata.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no scripts in testdata")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			t.Parallel()
			RunFile(t, f)
		})
	}
}

// TestRunReportsDifferences checks that a wrong expectation fails with
// the script's file and line, the command and a diff, and that later
// blocks still run.
func TestRunReportsDifferences(t *testing.T) {
	script := `open

append
m 0:1 10:2
commit

select m
----
m 0:1 10:3

append
m 5:1
commit
`
	fails := Run("x.txt", script, t.TempDir())
	if len(fails) != 2 {
		t.Fatalf("want 2 failures, got %d: %q", len(fails), fails)
	}
	for _, want := range []string{"x.txt:7: select m: output differs", "- m 0:1 10:3", "+ m 0:1 10:2"} {
		if !strings.Contains(fails[0], want) {
			t.Errorf("first failure lacks %q:\n%s", want, fails[0])
		}
	}
	for _, want := range []string{"x.txt:11: append", "+ m 5:1: out_of_order"} {
		if !strings.Contains(fails[1], want) {
			t.Errorf("second failure lacks %q:\n%s", want, fails[1])
		}
	}
}

// TestRunScriptErrors checks that malformed scripts stop with a message
// naming the place.
func TestRunScriptErrors(t *testing.T) {
	for _, tc := range []struct{ script, want string }{
		{"select m", "x.txt:1: select m: select needs an open database"},
		{"open\n\nfrobnicate", `x.txt:3: frobnicate: unknown command "frobnicate"`},
		{"open exemplars=10", `x.txt:1: open exemplars=10: unknown argument "exemplars=10"`},
		{"open\n\nappend\nm 5", "x.txt:3: append: line 4: bad sample \"5\": want T:V"},
		{"open\n\nappend\nm 0..10/3:1", "need STEP > 0 and T2 = T1 + k*STEP"},
		{"open\n\nappend\nm{a=\"b\" 0:1", "x.txt:3: append: line 4: unterminated quote or brace"},
		{"open\n\nselect m\nm 0:1", "select takes no input lines (is ---- missing before line 4?)"},
		{"open\n\nappend\nm 0:1\ncommit\nm 1:1", "commit must be the last line"},
		{"open\n\ncommit", `no open appender "default"`},
		{"open\n\nappend\nm 0:{{count:1.5 buckets:[1.5]}}", "write f{{...}} for a float histogram"},
	} {
		fails := Run("x.txt", tc.script, t.TempDir())
		if len(fails) != 1 || !strings.Contains(fails[0], tc.want) {
			t.Errorf("script %q: want one failure containing %q, got %q", tc.script, tc.want, fails)
		}
	}
}

// TestFormatRoundTrip checks that what output prints parses back to the
// same samples, runs included, so expectations can be pasted as input.
func TestFormatRoundTrip(t *testing.T) {
	for _, in := range []string{
		"0..70/10:1+1",
		"0..700/100:0.5-0.25",
		"-3h..-2h/10m:7",
		"0:-Inf 1:+Inf 2:NaN 3:stale 4:-0 5:NaN(0x7ff0000000000002) 6:NaN(0x7ff8000000000003)",
		"0:{{schema:-1 count:3 sum:2 z_bucket:1 z_bucket_w:0.5 offset:-1 buckets:[1 0 1] n_buckets:[0]}} 1:hstale",
		"0:f{{count:0.5 sum:1 buckets:[0.5]}} 1:fhstale",
	} {
		ss, err := parseSampleLine(inputLine{text: "m " + in})
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		out := formatSamples(ss.samples)
		again, err := parseSampleLine(inputLine{text: "m " + out})
		if err != nil {
			t.Fatalf("%s printed as %s, which does not parse: %v", in, out, err)
		}
		if out2 := formatSamples(again.samples); out2 != out {
			t.Errorf("%s: printed %s, then %s", in, out, out2)
		}
	}
}
