package labels

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// toSlice decodes ls for comparisons in tests.
func toSlice(ls Labels) []Label {
	var out []Label
	ls.Range(func(l Label) { out = append(out, l) })
	return out
}

// encodeByHand builds the documented encoding independently of the
// package's encoder, so tests catch a drift in either.
func encodeByHand(pairs ...string) string {
	var b []byte
	for _, s := range pairs {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return string(b)
}

func TestNewSortsAndEncodes(t *testing.T) {
	long := strings.Repeat("x", 200) // needs a two-byte length
	tests := []struct {
		name string
		in   []Label
		want []string // sorted name, value pairs
	}{
		{"empty", nil, nil},
		{"one", []Label{{"a", "1"}}, []string{"a", "1"}},
		{"unsorted", []Label{{"c", "3"}, {"a", "1"}, {"b", "2"}}, []string{"a", "1", "b", "2", "c", "3"}},
		{"duplicate last wins", []Label{{"a", "1"}, {"b", "2"}, {"a", "9"}}, []string{"a", "9", "b", "2"}},
		{"empty name and value", []Label{{"b", ""}, {"", "x"}}, []string{"", "x", "b", ""}},
		{"long strings", []Label{{long, long}, {"a", "b"}}, []string{"a", "b", long, long}},
		{"utf8", []Label{{"ö", "ü"}, {"o", "u"}}, []string{"o", "u", "ö", "ü"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// New may reorder its argument in place (as Prometheus'
			// does), so give it a copy.
			ls := New(slices.Clone(tc.in)...)
			if ls.data != encodeByHand(tc.want...) {
				t.Fatalf("encoding = %q, want %q", ls.data, encodeByHand(tc.want...))
			}
			if got := ls.Len(); got != len(tc.want)/2 {
				t.Fatalf("Len = %d, want %d", got, len(tc.want)/2)
			}
			if ls.IsEmpty() != (len(tc.want) == 0) {
				t.Fatalf("IsEmpty = %v", ls.IsEmpty())
			}
			if !Equal(ls, FromStrings(tc.want...)) {
				t.Fatalf("FromStrings differs: %v", FromStrings(tc.want...))
			}
			m := map[string]string{}
			for i := 0; i < len(tc.want); i += 2 {
				m[tc.want[i]] = tc.want[i+1]
			}
			if !Equal(ls, FromMap(m)) {
				t.Fatalf("FromMap differs")
			}
			back, err := FromBytes(ls.Bytes(nil))
			if err != nil || !Equal(back, ls) {
				t.Fatalf("FromBytes round trip: %v, %v", back, err)
			}
		})
	}
}

func TestFromStringsOddPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	FromStrings("a")
}

func TestFromBytesRejects(t *testing.T) {
	tests := map[string]string{
		"truncated length":   "\x80",
		"length past end":    "\x05ab",
		"missing value":      encodeByHand("a"),
		"unsorted":           encodeByHand("b", "1", "a", "2"),
		"duplicate":          encodeByHand("a", "1", "a", "2"),
		"non-minimal varint": "\x81\x00a\x00",
	}
	for name, in := range tests {
		if _, err := FromBytes([]byte(in)); err == nil {
			t.Errorf("%s: accepted %q", name, in)
		}
	}
}

func TestGetHas(t *testing.T) {
	ls := FromStrings("", "empty-name", "__name__", "up", "a", "", "job", "api", "zz", "last", "ü", "uml")
	tests := []struct {
		name, value string
		has         bool
	}{
		{"", "empty-name", true},
		{"__name__", "up", true},
		{"a", "", true},
		{"job", "api", true},
		{"zz", "last", true},
		{"ü", "uml", true},
		{"jo", "", false},
		{"jobs", "", false},
		{"b", "", false},
		{"zzz", "", false},
		{"A", "", false},
		{"\xff", "", false},
	}
	for _, tc := range tests {
		if got := ls.Get(tc.name); got != tc.value {
			t.Errorf("Get(%q) = %q, want %q", tc.name, got, tc.value)
		}
		if got := ls.Has(tc.name); got != tc.has {
			t.Errorf("Has(%q) = %v, want %v", tc.name, got, tc.has)
		}
	}
	if noEmpty := FromStrings("a", "1"); noEmpty.Get("") != "" || noEmpty.Has("") {
		t.Error("set without an empty name reports one")
	}
	if EmptyLabels().Get("a") != "" || EmptyLabels().Get("") != "" || EmptyLabels().Has("") {
		t.Error("empty set reports a label")
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		ls   Labels
		want string
	}{
		{EmptyLabels(), "{}"},
		{FromStrings("job", "x", "__name__", "up"), `{__name__="up", job="x"}`},
		{FromStrings("a", "quote\"back\\slash\nnl"), `{a="quote\"back\\slash\nnl"}`},
		{FromStrings("foo.bar", "1", "_ok9", "2"), `{_ok9="2", "foo.bar"="1"}`},
		{FromStrings("9lead", "v", "colon:name", "v"), `{"9lead"="v", "colon:name"="v"}`},
		{FromStrings("", "v"), `{""="v"}`},
		{FromStrings("ü", "ü"), `{"ü"="ü"}`},
	}
	for _, tc := range tests {
		if got := tc.ls.String(); got != tc.want {
			t.Errorf("String() = %s, want %s", got, tc.want)
		}
	}
}

// compareSlices is the reference order: label by label, name then value,
// a prefix first.
func compareSlices(a, b []Label) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := strings.Compare(a[i].Name, b[i].Name); c != 0 {
			return c
		}
		if c := strings.Compare(a[i].Value, b[i].Value); c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

func sign(x int) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}

func TestCompare(t *testing.T) {
	tests := []struct {
		a, b Labels
		want int
	}{
		{EmptyLabels(), EmptyLabels(), 0},
		{EmptyLabels(), FromStrings("a", "1"), -1},
		{FromStrings("a", "1"), FromStrings("a", "1"), 0},
		{FromStrings("a", "1"), FromStrings("a", "2"), -1},
		{FromStrings("a", "1"), FromStrings("b", "1"), -1},
		{FromStrings("a", "1", "b", "1"), FromStrings("a", "1"), 1},
		// Byte-wise the encodings would order by length prefix; the
		// label order must win: "b" sorts after "ab".
		{FromStrings("b", "1"), FromStrings("ab", "1"), 1},
		{FromStrings("a", "b"), FromStrings("a", "ab"), 1},
		{FromStrings("a", "1", "c", "1"), FromStrings("a", "1", "b", "9"), 1},
	}
	for _, tc := range tests {
		if got := sign(Compare(tc.a, tc.b)); got != tc.want {
			t.Errorf("Compare(%v, %v) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := sign(Compare(tc.b, tc.a)); got != -tc.want {
			t.Errorf("Compare(%v, %v) = %d, want %d", tc.b, tc.a, got, -tc.want)
		}
	}
}

// randomLabels draws small sets over a tiny alphabet so that equal names,
// prefixes and equal sets are frequent.
func randomLabels(r *rand.Rand) Labels {
	n := r.IntN(4)
	ls := make([]Label, n)
	str := func() string {
		b := make([]byte, r.IntN(3))
		for i := range b {
			b[i] = "ab\x00\xff"[r.IntN(4)]
		}
		return string(b)
	}
	for i := range ls {
		ls[i] = Label{str(), str()}
	}
	return New(ls...)
}

func TestCompareMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		a, b := randomLabels(r), randomLabels(r)
		want := sign(compareSlices(toSlice(a), toSlice(b)))
		if got := sign(Compare(a, b)); got != want {
			t.Fatalf("Compare(%v, %v) = %d, want %d", a, b, got, want)
		}
		if Equal(a, b) != (want == 0) {
			t.Fatalf("Equal(%v, %v) disagrees with Compare", a, b)
		}
		if (a.Hash() == b.Hash()) != (want == 0) {
			t.Fatalf("Hash collision or mismatch for %v, %v", a, b)
		}
	}
}

func TestCompareLongSharedPrefixes(t *testing.T) {
	// Sets that agree for many bytes exercise the word-at-a-time prefix
	// skip and the back-up to the diverging label.
	r := rand.New(rand.NewPCG(5, 6))
	long := func() string { return strings.Repeat("v", 5+r.IntN(20)) }
	for range 20000 {
		a := FromStrings("__name__", long(), "job", long(), "zone", long())
		edit := NewBuilder(a)
		name := []string{"__name__", "job", "zone", "a", "k", "zzz"}[r.IntN(6)]
		v := []byte(a.Get(name) + long())
		v = v[:1+r.IntN(len(v)-1)]
		v[r.IntN(len(v))] = "uvw"[r.IntN(3)]
		b := edit.Set(name, string(v)).Labels()
		want := sign(compareSlices(toSlice(a), toSlice(b)))
		if got := sign(Compare(a, b)); got != want {
			t.Fatalf("Compare(%v, %v) = %d, want %d", a, b, got, want)
		}
		if got := sign(Compare(b, a)); got != -want {
			t.Fatalf("Compare(%v, %v) = %d, want %d", b, a, got, -want)
		}
	}
}

func TestHash(t *testing.T) {
	ls := FromStrings("__name__", "up", "job", "api")
	want := xxhash.Sum64String(encodeByHand("__name__", "up", "job", "api"))
	if got := ls.Hash(); got != want {
		t.Fatalf("Hash = %x, want xxhash of the encoding %x", got, want)
	}
	if New(Label{"job", "api"}, Label{"__name__", "up"}).Hash() != want {
		t.Fatal("hash depends on construction order")
	}
	if FromStrings("__name__", "up", "job", "apj").Hash() == want {
		t.Fatal("different sets hash equal")
	}
	// Moving a byte between name and value must change the hash.
	if FromStrings("ab", "c").Hash() == FromStrings("a", "bc").Hash() {
		t.Fatal("name/value boundary not hashed")
	}
	if n := testing.AllocsPerRun(100, func() { _ = ls.Hash() }); n != 0 {
		t.Fatalf("Hash allocates %v times", n)
	}
}

func TestHashForAndWithoutLabels(t *testing.T) {
	ls := FromStrings("__name__", "up", "a", "1", "b", "2", "c", "3")
	tests := []struct {
		names       []string
		on, without Labels
	}{
		{nil, EmptyLabels(), FromStrings("a", "1", "b", "2", "c", "3")},
		{[]string{"a"}, FromStrings("a", "1"), FromStrings("b", "2", "c", "3")},
		{[]string{"a", "c"}, FromStrings("a", "1", "c", "3"), FromStrings("b", "2")},
		{[]string{"c", "a"}, FromStrings("a", "1", "c", "3"), FromStrings("b", "2")}, // unsorted
		{[]string{"__name__", "b"}, FromStrings("__name__", "up", "b", "2"), FromStrings("a", "1", "c", "3")},
		{[]string{"x", "y"}, EmptyLabels(), FromStrings("a", "1", "b", "2", "c", "3")},
		{[]string{"0", "b", "zz"}, FromStrings("b", "2"), FromStrings("a", "1", "c", "3")},
	}
	var buf []byte
	for _, tc := range tests {
		var h uint64
		h, buf = ls.HashForLabels(buf, tc.names...)
		if h != tc.on.Hash() {
			t.Errorf("HashForLabels(%v) = %x, want hash of %v", tc.names, h, tc.on)
		}
		if got := ls.MatchLabels(true, tc.names...); !Equal(got, tc.on) {
			t.Errorf("MatchLabels(true, %v) = %v, want %v", tc.names, got, tc.on)
		}
		h, buf = ls.HashWithoutLabels(buf, tc.names...)
		if h != tc.without.Hash() {
			t.Errorf("HashWithoutLabels(%v) = %x, want hash of %v", tc.names, h, tc.without)
		}
		if got := ls.MatchLabels(false, tc.names...); !Equal(got, tc.without) {
			t.Errorf("MatchLabels(false, %v) = %v, want %v", tc.names, got, tc.without)
		}
	}
	names := []string{"a", "c"}
	if n := testing.AllocsPerRun(100, func() {
		_, buf = ls.HashForLabels(buf, names...)
		_, buf = ls.HashWithoutLabels(buf, names...)
	}); n != 0 {
		t.Fatalf("hashing with scratch allocates %v times", n)
	}
}

func TestWithoutEmptyAndDropMetricName(t *testing.T) {
	tests := []struct {
		in, withoutEmpty, dropName Labels
	}{
		{EmptyLabels(), EmptyLabels(), EmptyLabels()},
		{FromStrings("a", "1"), FromStrings("a", "1"), FromStrings("a", "1")},
		{FromStrings("__name__", "up", "a", "", "b", "2"), FromStrings("__name__", "up", "b", "2"), FromStrings("a", "", "b", "2")},
		{FromStrings("A", "x", "__name__", "up", "z", ""), FromStrings("A", "x", "__name__", "up"), FromStrings("A", "x", "z", "")},
		{FromStrings("a", "", "b", ""), EmptyLabels(), FromStrings("a", "", "b", "")},
	}
	for _, tc := range tests {
		if got := tc.in.WithoutEmpty(); !Equal(got, tc.withoutEmpty) {
			t.Errorf("%v.WithoutEmpty() = %v, want %v", tc.in, got, tc.withoutEmpty)
		}
		if got := tc.in.DropMetricName(); !Equal(got, tc.dropName) {
			t.Errorf("%v.DropMetricName() = %v, want %v", tc.in, got, tc.dropName)
		}
	}
}

func TestHasDuplicateLabelNames(t *testing.T) {
	if n, dup := FromStrings("a", "1", "a", "2", "b", "3").HasDuplicateLabelNames(); dup {
		t.Fatalf("constructor let duplicate %q through", n)
	}
	// A set that breaks the invariant, as could only arrive by bypassing
	// the constructors, must be detected.
	bad := Labels{data: encodeByHand("a", "1", "b", "2", "b", "3")}
	if n, dup := bad.HasDuplicateLabelNames(); !dup || n != "b" {
		t.Fatalf("HasDuplicateLabelNames = %q, %v", n, dup)
	}
}

func TestValidNames(t *testing.T) {
	tests := []struct {
		s                     string
		legacyMetric, legacyL bool
		utf8                  bool
	}{
		{"", false, false, false},
		{"up", true, true, true},
		{"_x9", true, true, true},
		{"a:b", true, false, true},
		{":a", true, false, true},
		{"9a", false, false, true},
		{"a-b", false, false, true},
		{"a.b", false, false, true},
		{"ü", false, false, true},
		{"Zz_", true, true, true},
		{"@", false, false, true},
		{"[", false, false, true},
		{"`", false, false, true},
		{"\xff", false, false, false},
	}
	for _, tc := range tests {
		if got := IsValidLegacyMetricName(tc.s); got != tc.legacyMetric {
			t.Errorf("IsValidLegacyMetricName(%q) = %v", tc.s, got)
		}
		if got := IsValidLegacyLabelName(tc.s); got != tc.legacyL {
			t.Errorf("IsValidLegacyLabelName(%q) = %v", tc.s, got)
		}
		if got := IsValidUTF8Name(tc.s); got != tc.utf8 {
			t.Errorf("IsValidUTF8Name(%q) = %v", tc.s, got)
		}
	}
}

func TestIsValid(t *testing.T) {
	tests := []struct {
		ls           Labels
		legacy, utf8 bool
	}{
		{EmptyLabels(), true, true},
		{FromStrings("__name__", "up", "job", "x"), true, true},
		{FromStrings("__name__", "a:b", "job", "x"), true, true},
		{FromStrings("__name__", "a.b", "job", "x"), false, true},
		{FromStrings("__name__", "", "job", "x"), false, false},
		{FromStrings("a.b", "x"), false, true},
		{FromStrings("a:b", "x"), false, true},
		{FromStrings("", "x"), false, false},
		{FromStrings("a", "\xff"), false, false},
		{FromStrings("a", ""), true, true},
	}
	for _, tc := range tests {
		if got := tc.ls.IsValid(LegacyValidation); got != tc.legacy {
			t.Errorf("%v.IsValid(legacy) = %v", tc.ls, got)
		}
		if got := tc.ls.IsValid(UTF8Validation); got != tc.utf8 {
			t.Errorf("%v.IsValid(utf8) = %v", tc.ls, got)
		}
	}
}

func TestMapCopyValidate(t *testing.T) {
	ls := FromStrings("a", "1", "b", "2")
	if m := ls.Map(); len(m) != 2 || m["a"] != "1" || m["b"] != "2" {
		t.Fatalf("Map = %v", m)
	}
	if c := ls.Copy(); !Equal(c, ls) {
		t.Fatalf("Copy = %v", c)
	}
	var seen []string
	errStop := errors.New("stop")
	err := ls.Validate(func(l Label) error {
		seen = append(seen, l.Name)
		if l.Name == "a" {
			return errStop
		}
		return nil
	})
	if err != errStop || !slices.Equal(seen, []string{"a"}) {
		t.Fatalf("Validate returned %v after %v", err, seen)
	}
	var all []Label
	for l := range ls.All() {
		all = append(all, l)
		break
	}
	if len(all) != 1 || all[0] != (Label{"a", "1"}) {
		t.Fatalf("All with early break = %v", all)
	}
}

func TestJSON(t *testing.T) {
	tests := []struct {
		ls   Labels
		json string
	}{
		{EmptyLabels(), `{}`},
		{FromStrings("b", "2", "a", "1"), `{"a":"1","b":"2"}`},
		{FromStrings("q", "\"<>"), `{"q":"\"\u003c\u003e"}`},
	}
	for _, tc := range tests {
		b, err := json.Marshal(tc.ls)
		if err != nil || string(b) != tc.json {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tc.ls, b, err, tc.json)
		}
		var back Labels
		if err := json.Unmarshal(b, &back); err != nil || !Equal(back, tc.ls) {
			t.Errorf("Unmarshal(%s) = %v, %v", b, back, err)
		}
	}
	var ls Labels
	if err := json.Unmarshal([]byte(`{"a":1}`), &ls); err == nil {
		t.Error("accepted a number value")
	}
	if err := json.Unmarshal([]byte(`["a"]`), &ls); err == nil {
		t.Error("accepted an array")
	}
}

func TestYAMLMethods(t *testing.T) {
	ls := FromStrings("a", "1", "b", "2")
	v, err := ls.MarshalYAML()
	if err != nil {
		t.Fatal(err)
	}
	m, ok := v.(map[string]string)
	if !ok || len(m) != 2 || m["b"] != "2" {
		t.Fatalf("MarshalYAML = %#v", v)
	}
	// Stand in for a YAML decoder: it fills the target the way yaml does.
	var back Labels
	err = back.UnmarshalYAML(func(target interface{}) error {
		*(target.(*map[string]string)) = map[string]string{"b": "2", "a": "1"}
		return nil
	})
	if err != nil || !Equal(back, ls) {
		t.Fatalf("UnmarshalYAML = %v, %v", back, err)
	}
	wantErr := errors.New("decode failed")
	if err := back.UnmarshalYAML(func(interface{}) error { return wantErr }); err != wantErr {
		t.Fatalf("UnmarshalYAML error = %v", err)
	}
}

func TestReadersDoNotAllocate(t *testing.T) {
	ls := FromStrings("__name__", "up", "job", "api", "zone", "a")
	other := FromStrings("__name__", "up", "job", "api", "zone", "b")
	var n int
	f := func(l Label) { n += len(l.Value) }
	if a := testing.AllocsPerRun(100, func() {
		_ = ls.Get("zone")
		_ = ls.Has("job")
		_ = ls.Len()
		ls.Range(f)
		_ = Compare(ls, other)
		_ = Equal(ls, other)
		_ = ls.WithoutEmpty()
		_ = ls.DropMetricName() // __name__ is first: a substring, no copy
	}); a != 0 {
		t.Fatalf("readers allocate %v times", a)
	}
}

func TestAppendQuotedMatchesStrconv(t *testing.T) {
	for _, s := range []string{"", "plain", "sp ace", "q\"", "b\\s", "\x7f", "\x1f", "tab\t", "ü", "\xff", "~}", " "} {
		if got, want := string(appendQuoted(nil, s)), strconv.Quote(s); got != want {
			t.Errorf("appendQuoted(%q) = %s, want %s", s, got, want)
		}
	}
}
