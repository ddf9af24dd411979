package labels

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzLabelsRoundTrip builds sets from arbitrary strings through every
// constructor and checks they agree with each other and with the encoding
// invariant. The input is split on 0x01 into name, value pairs.
func FuzzLabelsRoundTrip(f *testing.F) {
	f.Add("__name__\x01up\x01job\x01api")
	f.Add("b\x01\x01a\x01x\x01b\x01y")
	f.Add("\x01\x01\xff\x01\xfe")
	f.Add(strings.Repeat("n", 300) + "\x01v")
	f.Add("ü\x01ö\x01a.b\x01\"q\"")
	f.Fuzz(func(t *testing.T, in string) {
		parts := strings.Split(in, "\x01")
		if len(parts)%2 != 0 {
			parts = parts[:len(parts)-1]
		}
		// want: last value per name, the documented rule for repeats.
		want := map[string]string{}
		var order []string
		for i := 0; i < len(parts); i += 2 {
			if _, ok := want[parts[i]]; !ok {
				order = append(order, parts[i])
			}
			want[parts[i]] = parts[i+1]
		}
		ls := FromStrings(parts...)
		if ls.Len() != len(want) {
			t.Fatalf("Len = %d, want %d", ls.Len(), len(want))
		}
		prev, first := "", true
		ls.Range(func(l Label) {
			if !first && l.Name <= prev {
				t.Fatalf("names not strictly ascending: %q after %q", l.Name, prev)
			}
			prev, first = l.Name, false
			if want[l.Name] != l.Value {
				t.Fatalf("%q = %q, want %q", l.Name, l.Value, want[l.Name])
			}
		})
		for _, n := range order {
			if ls.Get(n) != want[n] || !ls.Has(n) {
				t.Fatalf("Get(%q) = %q, want %q", n, ls.Get(n), want[n])
			}
		}
		if !Equal(ls, FromMap(want)) {
			t.Fatalf("FromMap disagrees: %v vs %v", FromMap(want), ls)
		}
		sb := NewScratchBuilder(0)
		for i := 0; i < len(parts); i += 2 {
			sb.UnsafeAddBytes([]byte(parts[i]), []byte(parts[i+1]))
		}
		sb.Sort()
		if got := sb.Labels(); !Equal(got, ls) {
			t.Fatalf("ScratchBuilder disagrees: %v vs %v", got, ls)
		}
		b := NewBuilder(EmptyLabels())
		for _, n := range order {
			b.Set(n, want[n])
		}
		if got := b.Labels(); !Equal(got, ls.WithoutEmpty()) {
			t.Fatalf("Builder disagrees: %v vs %v", got, ls.WithoutEmpty())
		}
		back, err := FromBytes(ls.Bytes(nil))
		if err != nil || !Equal(back, ls) || back.Hash() != ls.Hash() || Compare(back, ls) != 0 {
			t.Fatalf("FromBytes round trip: %v, %v", back, err)
		}
		_ = ls.String()
		valid := true
		for _, p := range parts {
			valid = valid && utf8.ValidString(p)
		}
		if valid { // JSON cannot carry invalid UTF-8
			j, err := json.Marshal(ls)
			if err != nil {
				t.Fatal(err)
			}
			var fromJSON Labels
			if err := json.Unmarshal(j, &fromJSON); err != nil || !Equal(fromJSON, ls) {
				t.Fatalf("JSON round trip: %s -> %v, %v", j, fromJSON, err)
			}
		}
		// Arbitrary bytes: FromBytes accepts only canonical encodings,
		// which rebuild to themselves.
		if raw, err := FromBytes([]byte(in)); err == nil {
			var rebuilt []Label
			raw.Range(func(l Label) { rebuilt = append(rebuilt, l) })
			if again := New(rebuilt...); again.data != in {
				t.Fatalf("accepted non-canonical encoding %q", in)
			}
		}
	})
}

// FuzzFastRegexMatcher holds every fast path to the regexp's answer.
func FuzzFastRegexMatcher(f *testing.F) {
	for _, p := range regexPatterns {
		for _, s := range []string{"", "foo", "xfoobar", "a\xffb", "\u212a"} {
			f.Add(p, s)
		}
	}
	f.Fuzz(func(t *testing.T, pattern, s string) {
		m, err := NewFastRegexMatcher(pattern)
		if err != nil {
			return
		}
		re := anchored(pattern)
		check := func(s string) {
			if got, want := m.MatchString(s), re.MatchString(s); got != want {
				t.Fatalf("%q.MatchString(%q) = %v, regexp says %v (fast path %T)", pattern, s, got, want, m.fast)
			}
			if re.MatchString(s) && !strings.HasPrefix(s, m.Prefix()) {
				t.Fatalf("%q matches %q without prefix %q", pattern, s, m.Prefix())
			}
			if set := m.SetMatches(); set != nil && re.MatchString(s) && !slices.Contains(set, s) {
				t.Fatalf("%q matches %q, missing from SetMatches %q", pattern, s, set)
			}
		}
		check(s)
		// Set members, and the input glued to the pattern's literals,
		// reach matches a random input rarely would.
		for _, x := range m.SetMatches() {
			if !re.MatchString(x) {
				t.Fatalf("%q: set match %q does not match", pattern, x)
			}
		}
		check(m.prefix + s + m.suffix)
		check(m.prefix + s)
		check(s + m.suffix)
	})
}
