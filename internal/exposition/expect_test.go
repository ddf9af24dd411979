package exposition

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// collectHinted is collect with an Expect hint before every call to Next:
// hint(n) for the n-th sample to come (counting from 0). The result ends
// with the error, if any, as an entry, so that its text and line are
// compared too.
func collectHinted(p Parser, hint func(n int) []byte) []string {
	var out []string
	var sb labels.ScratchBuilder
	n := 0
	for {
		p.Expect(hint(n))
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			return append(out, "error: "+err.Error())
		}
		g := got{kind: e}
		switch e {
		case EntryHelp:
			nm, t := p.Help()
			g.name, g.text = string(nm), string(t)
		case EntryType:
			nm, t := p.Type()
			g.name, g.typ = string(nm), t
		case EntryUnit:
			nm, u := p.Unit()
			g.name, g.text = string(nm), string(u)
		case EntryComment:
			g.text = string(p.Comment())
		case EntrySeries:
			n++
			s, ts, v := p.Series()
			g.series, g.value = string(s), fmtValue(v)
			if ts != nil {
				g.ts = fmt.Sprint(*ts)
			}
			// CreatedTimestamp before Labels: it needs the label set too.
			g.ct = p.CreatedTimestamp()
			p.Labels(&sb)
			g.lset = sb.Labels().String()
			var ex exemplar.Exemplar
			for p.Exemplar(&ex) {
				g.ex = append(g.ex, fmtExemplar(ex))
			}
		}
		out = append(out, g.String())
	}
}

// checkHints parses body without hints and then with several kinds of
// hint, and requires the same entries and the same error every time:
// right hints (the keys the first parse returned), hints one sample
// ahead, and hints that are a byte short or a byte long.
func checkHints(t *testing.T, name string, body []byte, mk func([]byte) Parser) {
	t.Helper()
	none := func(int) []byte { return nil }
	want := collectHinted(mk(body), none)
	var keys [][]byte
	p := mk(body)
	for {
		e, err := p.Next()
		if err != nil {
			break
		}
		if e == EntrySeries {
			s, _, _ := p.Series()
			keys = append(keys, append([]byte(nil), s...))
		}
	}
	at := func(n int) []byte {
		if n < len(keys) {
			return keys[n]
		}
		return nil
	}
	hints := map[string]func(int) []byte{
		"right": at,
		"ahead": func(n int) []byte { return at(n + 1) },
		"short": func(n int) []byte {
			if k := at(n); len(k) > 1 {
				return k[:len(k)-1]
			}
			return nil
		},
		"long": func(n int) []byte {
			if k := at(n); k != nil {
				return append(append([]byte(nil), k...), ' ')
			}
			return nil
		},
	}
	for hname, hint := range hints {
		got := collectHinted(mk(body), hint)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s, %s hints: entries differ\ngot:\n  %s\nwant:\n  %s", name, hname,
				strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
	}
}

func TestExpectText(t *testing.T) {
	bodies := map[string]string{
		// A bare name is a prefix of a longer name and of labelled forms.
		"prefixes": "foo 1\nfoobar 2\nfoo {a=\"b\"} 3\nfoo{a=\"b\"} 4\nfoo\t5\nfoo 6 1000\n",
		// The line number of a later error counts the raw newline inside
		// a skipped label value.
		"newline": "a{b=\"x\ny\"} 1\na{b=\"x\ny\"} 2\n!\n",
		"escapes": "a{b=\"q\\\"\\\\\\n\"} 1\n{\"my.metric\",\"my.label\"=\"v\"} 2\n",
		// le is normalised by the TYPE in force, not by the hint.
		"normalise": "# TYPE h histogram\nh_bucket{le=\"1\"} 1\n# TYPE h untyped\nh_bucket{le=\"1\"} 1\n",
		"error":     "a{b=\"c\"} 1\na{b=\"c\"} x\n",
	}
	for i, s := range textSeeds {
		bodies[fmt.Sprint("seed", i)] = s
	}
	bodies["nodeexporter"] = string(GenerateNodeExporterPayload(64 << 10))
	addCorpus(t, bodies, ".prom.txt")
	for _, strict := range []bool{false, true} {
		mk := func(b []byte) Parser { return NewTextParser(b, Options{Strict: strict}) }
		for name, body := range bodies {
			checkHints(t, fmt.Sprintf("%s (strict %v)", name, strict), []byte(body), mk)
		}
	}
}

func TestExpectOpenMetrics(t *testing.T) {
	bodies := map[string]string{
		"prefixes": "foo 1\nfoobar 2\nfoo{a=\"b\"} 4\n# EOF\n",
		"space":    "foo {a=\"b\"} 1\n# EOF\n",
		"newline":  "a{\"x\ny\"=\"v\"} 1\na{\"x\ny\"=\"v\"} 2\n!\n# EOF\n",
		"created": "# TYPE c counter\nc_total{a=\"1\"} 1\nc_total{a=\"2\"} 2\nc_created{a=\"2\"} 5\n" +
			"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_count 1\nh_sum 1\nh_created 7\n# EOF\n",
		"quoted": "{\"a.b\",\"c\"=\"d\"} 1\n{\"a.b\",\"c\"=\"d\"} 2\n# EOF\n",
	}
	for i, s := range omSeeds {
		bodies[fmt.Sprint("seed", i)] = s
	}
	addCorpus(t, bodies, ".om.txt")
	for _, opts := range []Options{{}, {Strict: true}, {SkipCreatedSeries: true}} {
		mk := func(b []byte) Parser { return NewOpenMetricsParser(b, opts) }
		for name, body := range bodies {
			checkHints(t, fmt.Sprintf("%s (%+v)", name, opts), []byte(body), mk)
		}
	}
}

// TestExpectSkipsParsing checks that a matching hint is taken: a series
// whose label set would not parse goes through when its bytes are the
// hint. Callers must never give such a hint (Expect's contract); the test
// only shows that the hint, not a reparse, decided.
func TestExpectSkipsParsing(t *testing.T) {
	for _, tc := range []struct {
		name string
		mk   func([]byte) Parser
		body string
	}{
		{"text", func(b []byte) Parser { return NewTextParser(b, Options{}) }, "a{b=c} 1\n"},
		{"openmetrics", func(b []byte) Parser { return NewOpenMetricsParser(b, Options{}) }, "a{b=c} 1\n# EOF\n"},
	} {
		p := tc.mk([]byte(tc.body))
		if _, err := p.Next(); err == nil {
			t.Fatalf("%s: %q parsed without a hint", tc.name, tc.body)
		}
		p = tc.mk([]byte(tc.body))
		p.Expect([]byte("a{b=c}"))
		if e, err := p.Next(); err != nil || e != EntrySeries {
			t.Fatalf("%s: with the hint, Next = %v, %v; want a series", tc.name, e, err)
		}
		// Asking for the labels parses them, and the failure surfaces at
		// the next call to Next.
		var sb labels.ScratchBuilder
		p.Labels(&sb)
		if _, err := p.Next(); err == nil || errors.Is(err, io.EOF) {
			t.Fatalf("%s: Next after Labels of a bad hinted series = %v; want its parse error", tc.name, err)
		}
	}
}

// addCorpus adds the conformance corpus' sample payloads with the given
// suffix, when the corpus is there.
func addCorpus(t *testing.T, bodies map[string]string, suffix string) {
	dir, err := findConformanceDir("exposition/samples")
	if err != nil {
		t.Logf("conformance corpus absent: %v", err)
		return
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), suffix) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		bodies[e.Name()] = string(b)
	}
}
