package exposition

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// scanQuotedRef is the byte-at-a-time definition scanQuoted must match.
func scanQuotedRef(b []byte, i int) (end int, esc, nonASCII bool, newlines int) {
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return j + 1, esc, nonASCII, newlines
		case c == '\\':
			esc = true
			j++
			if j < len(b) && b[j] == '\n' {
				newlines++
			}
			if j < len(b) && b[j] >= 0x80 {
				nonASCII = true
			}
		case c == '\n':
			newlines++
		case c >= 0x80:
			nonASCII = true
		}
	}
	return -1, esc, nonASCII, newlines
}

func TestScanQuoted(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab\"\\\n\xc3\xa9\x00\xff ")
	for n := 0; n < 20000; n++ {
		b := make([]byte, 1+r.IntN(40))
		b[0] = '"'
		for i := 1; i < len(b); i++ {
			if r.IntN(3) == 0 {
				b[i] = alphabet[r.IntN(len(alphabet))]
			} else {
				b[i] = byte('a' + r.IntN(26))
			}
		}
		e1, s1, a1, n1 := scanQuoted(b, 0)
		e2, s2, a2, n2 := scanQuotedRef(b, 0)
		if e1 != e2 || s1 != s2 || a1 != a2 || n1 != n2 {
			t.Fatalf("%q: got %d %v %v %d, want %d %v %v %d", b, e1, s1, a1, n1, e2, s2, a2, n2)
		}
	}
}

// TestParseFloat checks the fast paths against strconv.ParseFloat, bit for
// bit, and the refusals Prometheus makes.
func TestParseFloat(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	check := func(s string) {
		t.Helper()
		got, ok := parseFloat([]byte(s))
		want, err := strconv.ParseFloat(s, 64)
		if (err == nil) != ok {
			t.Fatalf("%q: ok=%v, strconv err=%v", s, ok, err)
		}
		if ok && math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("%q: got %v (%#x), want %v (%#x)", s, got, math.Float64bits(got), want, math.Float64bits(want))
		}
	}
	for _, s := range []string{"0", "-0", "+0", "1", "-1", ".5", "5.", "0.1", "1e5", "1E-5", "2.279966416e+09",
		"123456789012345", "1234567890123456", "12345678901234567890", "0.000000000000000000000001",
		"1e22", "1e23", "1e-22", "1e-23", "9007199254740993", "4.9351e-05", "NaN", "nan", "+Inf", "-inf",
		"Infinity", "1e400", "-1e400", "1e-400", "00000000000000000000000000001.2e-1", "1.", "-.5e1",
		"1e", "e1", ".", "-", "+", "", "1.2.3", "1e+", "0x10", "1__0", "--1", "1-", "0e0", "1e0022"} {
		check(s)
	}
	for n := 0; n < 100000; n++ {
		var s string
		switch r.IntN(4) {
		case 0:
			s = strconv.FormatFloat(r.NormFloat64()*math.Pow(10, float64(r.IntN(60)-30)), 'g', -1, 64)
		case 1:
			s = strconv.FormatFloat(r.Float64()*1e6, 'f', r.IntN(12), 64)
		case 2:
			s = strconv.FormatFloat(math.Float64frombits(r.Uint64()), 'e', r.IntN(20), 64)
		default:
			s = strconv.Itoa(r.IntN(1e9)) + "." + strconv.Itoa(r.IntN(1e6)) + "e" + strconv.Itoa(r.IntN(50)-25)
		}
		check(s)
	}
	for _, s := range []string{"0x1p-3", "0X1P3", "1_000", "1_0.5"} {
		if _, ok := parseFloat([]byte(s)); ok {
			t.Errorf("%q accepted; Prometheus refuses it", s)
		}
	}
}

// TestCanonicalState checks the shortcut against parsing and formatting.
func TestCanonicalState(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	check := func(s string) {
		t.Helper()
		slow, ok := appendCanonicalFloatLabel(nil, []byte(s))
		if !ok {
			slow = []byte(s)
		}
		switch canonicalState([]byte(s)) {
		case canonicalAsIs:
			if string(slow) != s {
				t.Fatalf("%q judged canonical, normalises to %q", s, slow)
			}
		case canonicalPlusDotZero:
			if string(slow) != s+".0" {
				t.Fatalf("%q judged to lack .0, normalises to %q", s, slow)
			}
		}
	}
	for _, s := range []string{"0", "-0", "1", "10", "999999", "1000000", "0.0", "-0.0", "1.0", "1.00", "1.5", "1.50",
		"0.25", "0.005", "0.0001", "0.00001", "00.5", "01", ".5", "5.", "+1", "1e3", "+Inf", "NaN", "junk", "",
		"123456.123456789", "0.1234567890123456", "123456.7890123456", "-0.0001"} {
		check(s)
	}
	for n := 0; n < 100000; n++ {
		f := r.Float64() * math.Pow(10, float64(r.IntN(14)-7))
		if r.IntN(2) == 0 {
			f = -f
		}
		check(strconv.FormatFloat(f, 'f', r.IntN(18)-1, 64))
		check(strconv.Itoa(r.IntN(2e7)))
	}
}
