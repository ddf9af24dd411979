package exposition

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// textSeeds and omSeeds cover the grammar's corners; the conformance corpus,
// when present, adds real payloads and the OpenMetrics test cases.
var textSeeds = []string{
	"# HELP a help \\\\ \\n\n# TYPE a counter\na{b=\"c\",d=\"e\\\"f\"} 1 1000\n",
	"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n",
	"{\"my.metric\",\"my.label\"=\"v\"} NaN\n",
	"a {b = \"c\" , } -Inf \r\n\n  # comment\n",
	"a 1\n\x00",
	"a{b=\"x\ny\"} 1\n",
}

var omSeeds = []string{
	omExample,
	"# TYPE a counter\na_total{b=\"c\"} 1 1.5 # {t=\"1\"} 2 3\na_created{b=\"c\"} 1\n# EOF\n",
	"# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_count 1\ns_sum 1\n# EOF",
	"# TYPE x stateset\nx{x=\"a\"} 1\n# TYPE i info\ni_info{a=\"b\"} 1\n# EOF\n",
	"{\"a.b\",\"c\"=\"d\",} 1\n# EOF\n",
}

// addCorpusSeeds adds the corpus files as seeds. Big payloads go in as
// chunks of whole lines of about 2 KB: the fuzzer minimises every new
// interesting input for up to a minute, and on a 190 KB input that would
// eat the whole fuzzing budget.
func addCorpusSeeds(f *testing.F, om bool) {
	if dir, err := findConformanceDir("exposition/samples"); err == nil {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".om.txt") != om {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				continue
			}
			for len(b) > 0 {
				n := min(len(b), 2048)
				if i := bytes.IndexByte(b[n:], '\n'); i >= 0 {
					n += i + 1
				} else {
					n = len(b)
				}
				chunk := b[:n]
				if om && !bytes.HasSuffix(chunk, []byte("# EOF\n")) {
					chunk = append(slices.Clip(chunk), "# EOF\n"...)
				}
				f.Add(chunk)
				b = b[n:]
			}
		}
	}
	if dir, err := findConformanceDir("exposition/openmetrics"); err == nil {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if b, err := os.ReadFile(filepath.Join(dir, e.Name(), "metrics")); err == nil {
				f.Add(b)
			}
		}
	}
}

func FuzzTextParser(f *testing.F) {
	for _, s := range textSeeds {
		f.Add([]byte(s))
	}
	addCorpusSeeds(f, false)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, strict := range []bool{false, true} {
			fuzzWalk(t, data, NewTextParser(data, Options{Strict: strict}), false)
		}
		checkHints(t, "fuzz", data, func(b []byte) Parser { return NewTextParser(b, Options{}) })
	})
}

func FuzzOpenMetricsParser(f *testing.F) {
	for _, s := range omSeeds {
		f.Add([]byte(s))
	}
	addCorpusSeeds(f, true)
	f.Fuzz(func(t *testing.T, data []byte) {
		lenient := fuzzWalk(t, data, NewOpenMetricsParser(data, Options{}), true)
		strict := fuzzWalk(t, data, NewOpenMetricsParser(data, Options{Strict: true}), true)
		skip := fuzzWalk(t, data, NewOpenMetricsParser(data, Options{SkipCreatedSeries: true}), true)
		if strict == nil && lenient != nil {
			t.Fatalf("strict mode accepts what lenient mode rejects (%v)", lenient)
		}
		if (skip == nil) != (lenient == nil) {
			t.Fatalf("SkipCreatedSeries changes acceptance: %v vs %v", skip, lenient)
		}
		for _, opts := range []Options{{}, {SkipCreatedSeries: true}} {
			checkHints(t, "fuzz", data, func(b []byte) Parser { return NewOpenMetricsParser(b, opts) })
		}
	})
}

// fuzzWalk parses data to the end, exercising every accessor, and checks
// what must hold for any input: errors are *ParseError with a line inside
// the body and stay put; series bytes are part of the body; each sample
// written back with the matching writer parses to the same sample.
func fuzzWalk(t *testing.T, data []byte, p Parser, om bool) error {
	lines := bytes.Count(data, []byte{'\n'}) + 1
	var sb, sb2 labels.ScratchBuilder
	var ex exemplar.Exemplar
	var buf []byte
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			if _, err := p.Next(); !errors.Is(err, io.EOF) {
				t.Fatalf("Next after io.EOF returned %v", err)
			}
			return nil
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line < 1 || pe.Line > lines+1 {
				t.Fatalf("error %v is not a ParseError with a line in 1..%d", err, lines+1)
			}
			if _, err2 := p.Next(); err2 != err {
				t.Fatalf("Next after %v returned %v", err, err2)
			}
			return err
		}
		switch e {
		case EntryHelp:
			p.Help()
		case EntryType:
			p.Type()
		case EntryUnit:
			p.Unit()
		case EntryComment:
			p.Comment()
		case EntrySeries:
			series, ts, v := p.Series()
			if !within(data, series) {
				t.Fatalf("series %q is not a slice of the body", series)
			}
			p.Labels(&sb)
			lset := sb.Labels()
			var exp *exemplar.Exemplar
			if p.Exemplar(&ex) {
				exp = &ex
				if p.Exemplar(&ex) {
					t.Fatal("second exemplar for one OpenMetrics sample")
				}
			}
			p.CreatedTimestamp()

			// Round trip through the writer.
			var q Parser
			if om {
				buf = AppendOpenMetricsSample(buf[:0], lset, v, ts, exp)
				buf = AppendOpenMetricsEOF(buf)
				q = NewOpenMetricsParser(buf, Options{})
			} else {
				buf = AppendTextSample(buf[:0], lset, v, ts)
				q = NewTextParser(buf, Options{})
			}
			if e2, err := q.Next(); err != nil || e2 != EntrySeries {
				t.Fatalf("written sample %q does not parse: %v", buf, err)
			}
			_, ts2, v2 := q.Series()
			q.Labels(&sb2)
			if got := sb2.Labels(); !labels.Equal(got, lset) {
				t.Fatalf("round trip of %q changed labels: %s, want %s", buf, got, lset)
			}
			if !sameValue(v, v2) || (ts == nil) != (ts2 == nil) || (ts != nil && *ts != *ts2) {
				t.Fatalf("round trip of %q changed value or timestamp", buf)
			}
			var ex2 exemplar.Exemplar
			if got := q.Exemplar(&ex2); got != (exp != nil) || (got && (!labels.Equal(ex2.Labels, exp.Labels) ||
				!sameValue(ex2.Value, exp.Value) || ex2.HasTs != exp.HasTs || ex2.Ts != exp.Ts)) {
				t.Fatalf("round trip of %q changed the exemplar", buf)
			}
		}
	}
}

// within reports whether sub is a non-empty slice of the memory of b, the
// zero-copy promise of Series.
func within(b, sub []byte) bool {
	if len(sub) == 0 || len(b) == 0 {
		return false
	}
	start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(sub)))
	return p >= start && p+uintptr(len(sub)) <= start+uintptr(len(b))
}
