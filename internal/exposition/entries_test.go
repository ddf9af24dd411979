package exposition

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/model/exemplar"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// got is one parsed entry in a form tests can compare and print.
type got struct {
	kind   Entry
	name   string     // HELP/TYPE/UNIT metric name
	text   string     // help text, unit or comment
	typ    MetricType // TYPE
	series string     // raw series bytes
	lset   string     // labels, printed
	value  string     // value, printed with %v plus bits for NaN
	ts     string     // "" or the timestamp
	ct     int64
	ex     []string
}

func (g got) String() string {
	switch g.kind {
	case EntryHelp:
		return fmt.Sprintf("HELP %s %q", g.name, g.text)
	case EntryType:
		return fmt.Sprintf("TYPE %s %s", g.name, g.typ)
	case EntryUnit:
		return fmt.Sprintf("UNIT %s %q", g.name, g.text)
	case EntryComment:
		return fmt.Sprintf("COMMENT %q", g.text)
	}
	s := fmt.Sprintf("SERIES %s %s %s", g.series, g.lset, g.value)
	if g.ts != "" {
		s += " @" + g.ts
	}
	if g.ct != 0 {
		s += fmt.Sprintf(" ct=%d", g.ct)
	}
	for _, e := range g.ex {
		s += " ex=" + e
	}
	return s
}

func fmtValue(v float64) string {
	if math.IsNaN(v) {
		return fmt.Sprintf("NaN(%#x)", math.Float64bits(v))
	}
	return fmt.Sprint(v)
}

func fmtExemplar(e exemplar.Exemplar) string {
	s := e.Labels.String() + " " + fmtValue(e.Value)
	if e.HasTs {
		s += fmt.Sprintf(" @%d", e.Ts)
	}
	return s
}

// collect parses body to the end and returns every entry.
func collect(p Parser) ([]got, error) {
	var out []got
	var sb labels.ScratchBuilder
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		g := got{kind: e}
		switch e {
		case EntryHelp:
			n, t := p.Help()
			g.name, g.text = string(n), string(t)
		case EntryType:
			n, t := p.Type()
			g.name, g.typ = string(n), t
		case EntryUnit:
			n, u := p.Unit()
			g.name, g.text = string(n), string(u)
		case EntryComment:
			g.text = string(p.Comment())
		case EntrySeries:
			s, ts, v := p.Series()
			g.series, g.value = string(s), fmtValue(v)
			if ts != nil {
				g.ts = fmt.Sprint(*ts)
			}
			p.Labels(&sb)
			g.lset = sb.Labels().String()
			g.ct = p.CreatedTimestamp()
			var ex exemplar.Exemplar
			for p.Exemplar(&ex) {
				g.ex = append(g.ex, fmtExemplar(ex))
			}
		}
		out = append(out, g)
	}
}

// Constructors for expected entries.
func help(name, text string) got { return got{kind: EntryHelp, name: name, text: text} }
func typ(name string, t MetricType) got {
	return got{kind: EntryType, name: name, typ: t}
}
func unit(name, u string) got { return got{kind: EntryUnit, name: name, text: u} }
func comment(text string) got { return got{kind: EntryComment, text: text} }
func sample(series string, v float64, kv ...string) got {
	return got{kind: EntrySeries, series: series, value: fmtValue(v), lset: labels.FromStrings(kv...).String()}
}
func (g got) at(ts int64) got         { g.ts = fmt.Sprint(ts); return g }
func (g got) created(ct int64) got    { g.ct = ct; return g }
func (g got) withEx(ex ...string) got { g.ex = ex; return g }

func checkEntries(t *testing.T, gotEntries, want []got) {
	t.Helper()
	var a, b []string
	for _, g := range gotEntries {
		a = append(a, g.String())
	}
	for _, w := range want {
		b = append(b, w.String())
	}
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Errorf("entries differ\ngot:\n  %s\nwant:\n  %s", strings.Join(a, "\n  "), strings.Join(b, "\n  "))
	}
}
