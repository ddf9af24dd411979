// Package labels owns the label-set vocabulary shared by every layer of
// Vigil: the immutable, compactly encoded Labels type, the builders that
// produce it (ScratchBuilder for parsers, Builder for edits), label-name
// validation, and label matchers with their regular-expression fast paths.
//
// A Labels value is a single string holding every label of the set, so a
// set costs one allocation, compares with one string comparison and hashes
// without allocating. The encoding is, for each label in ascending name
// order:
//
//	uvarint(len(name)) name uvarint(len(value)) value
//
// INVARIANT: every Labels value built by this package is well formed,
// sorted strictly ascending by name (so no name repeats) and never mutated
// after construction. Code outside the package cannot build a Labels except
// through these constructors, which is what keeps the invariant true.
package labels

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// Well-known label names.
const (
	// MetricName is the label holding a series' metric name.
	MetricName = "__name__"
	// AlertName is the label holding an alert's name.
	AlertName = "alertname"
	// BucketLabel is the label holding a classic histogram bucket's upper bound.
	BucketLabel = "le"
	// InstanceName is the label identifying a scrape target.
	InstanceName = "instance"
)

// Label is one name/value pair.
type Label struct {
	Name, Value string
}

// Labels is an immutable, sorted set of labels in one encoded string; see
// the package documentation for the encoding. The zero value is the empty
// set. Labels is comparable with == (equal sets have equal encodings).
type Labels struct {
	data string
}

// decodeSize reads the uvarint at data[i:] and returns it with the index
// just past it. Sizes below 128, by far the common case, take the first
// branch. The caller guarantees the encoding is well formed.
func decodeSize(data string, i int) (int, int) {
	b := data[i]
	i++
	if b < 0x80 {
		return int(b), i
	}
	size := int(b & 0x7f)
	for shift := uint(7); ; shift += 7 {
		b = data[i]
		i++
		size |= int(b&0x7f) << shift
		if b < 0x80 {
			return size, i
		}
	}
}

// decodeString reads one length-prefixed string at data[i:].
func decodeString(data string, i int) (string, int) {
	var size int
	size, i = decodeSize(data, i)
	return data[i : i+size], i + size
}

// sizeVarint is the encoded length of x as a uvarint.
func sizeVarint(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// labelSize is the encoded length of one label.
func labelSize(l Label) int {
	return sizeVarint(uint64(len(l.Name))) + len(l.Name) + sizeVarint(uint64(len(l.Value))) + len(l.Value)
}

// appendLabel appends the encoding of l to buf.
func appendLabel(buf []byte, name, value string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(name)))
	buf = append(buf, name...)
	buf = binary.AppendUvarint(buf, uint64(len(value)))
	return append(buf, value...)
}

// encodeSorted encodes ls, which must already be sorted by name with no
// repeated names, into one freshly allocated string.
func encodeSorted(ls []Label) Labels {
	size := 0
	for _, l := range ls {
		size += labelSize(l)
	}
	buf := make([]byte, 0, size)
	for _, l := range ls {
		buf = appendLabel(buf, l.Name, l.Value)
	}
	return Labels{data: ownString(buf)}
}

// ownString turns b into a string without copying. The caller hands over
// b: it must be freshly allocated, never written again and not retained,
// which is what keeps the resulting Labels immutable.
func ownString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// strictlySorted reports whether ls is sorted by name with no repeats, in
// which case it can be encoded as is.
func strictlySorted(ls []Label) bool {
	for i := 1; i < len(ls); i++ {
		if ls[i].Name <= ls[i-1].Name {
			return false
		}
	}
	return true
}

// compareLabelNames orders labels by name only, for stable sorts where the
// position among equal names decides which value wins.
func compareLabelNames(a, b Label) int { return strings.Compare(a.Name, b.Name) }

// dedupSorted removes repeated names from a slice stably sorted by name,
// keeping the last occurrence of each name (the value added last wins, as
// with repeated assignment).
func dedupSorted(ls []Label) []Label {
	if len(ls) < 2 {
		return ls
	}
	out := ls[:1]
	for _, l := range ls[1:] {
		if l.Name == out[len(out)-1].Name {
			out[len(out)-1] = l
			continue
		}
		out = append(out, l)
	}
	return out
}

// New returns a set holding ls. Like Prometheus' labels.New it sorts ls in
// place (callers pass a slice they own, usually a variadic literal), which
// saves a copy; the label strings themselves are copied into the set. When
// a name is repeated the last value given wins, which keeps the
// no-duplicates invariant without failing.
func New(ls ...Label) Labels {
	if !strictlySorted(ls) {
		slices.SortStableFunc(ls, compareLabelNames)
		ls = dedupSorted(ls)
	}
	return encodeSorted(ls)
}

// FromStrings builds a set from name, value pairs. It panics on an odd
// number of arguments, which is always a programming error.
func FromStrings(ss ...string) Labels {
	if len(ss)%2 != 0 {
		panic("labels.FromStrings: odd number of strings")
	}
	ls := make([]Label, 0, len(ss)/2)
	for i := 0; i < len(ss); i += 2 {
		ls = append(ls, Label{Name: ss[i], Value: ss[i+1]})
	}
	if !strictlySorted(ls) {
		slices.SortStableFunc(ls, compareLabelNames)
		ls = dedupSorted(ls)
	}
	return encodeSorted(ls)
}

// FromMap builds a set from a map of names to values.
func FromMap(m map[string]string) Labels {
	ls := make([]Label, 0, len(m))
	for n, v := range m {
		ls = append(ls, Label{Name: n, Value: v})
	}
	slices.SortFunc(ls, compareLabelNames) // map keys are unique
	return encodeSorted(ls)
}

// EmptyLabels returns the empty set.
func EmptyLabels() Labels { return Labels{} }

// Len returns the number of labels. It walks the encoding, so callers in
// loops should keep the result.
func (ls Labels) Len() int {
	n := 0
	for i := 0; i < len(ls.data); {
		var size int
		size, i = decodeSize(ls.data, i)
		i += size
		size, i = decodeSize(ls.data, i)
		i += size
		n++
	}
	return n
}

// IsEmpty reports whether the set has no labels.
func (ls Labels) IsEmpty() bool { return len(ls.data) == 0 }

// Get returns the value of the named label, or "" when it is absent.
func (ls Labels) Get(name string) string {
	if name == "" {
		// The empty name sorts before all others, so only the first
		// label can have it; its length prefix is the single byte 0.
		if len(ls.data) > 0 && ls.data[0] == 0 {
			v, _ := decodeString(ls.data, 1)
			return v
		}
		return ""
	}
	first := name[0]
	for i := 0; i < len(ls.data); {
		var size int
		size, i = decodeSize(ls.data, i)
		// Names are sorted, so once the first byte passes name's first
		// byte the label cannot appear later; checking one byte is far
		// cheaper than a full comparison per label.
		if size > 0 && ls.data[i] > first {
			return ""
		}
		if size == len(name) && ls.data[i:i+size] == name {
			i += size
			v, _ := decodeString(ls.data, i)
			return v
		}
		i += size
		size, i = decodeSize(ls.data, i)
		i += size
	}
	return ""
}

// Has reports whether the named label is present (even with an empty value).
func (ls Labels) Has(name string) bool {
	for i := 0; i < len(ls.data); {
		var n string
		n, i = decodeString(ls.data, i)
		if n == name {
			return true
		}
		if n > name {
			return false
		}
		var size int
		size, i = decodeSize(ls.data, i)
		i += size
	}
	return false
}

// Range calls f for each label in ascending name order. The Label strings
// alias the set's storage, so Range does not allocate; they stay valid for
// as long as any reference to them does (the storage is immutable).
func (ls Labels) Range(f func(l Label)) {
	for i := 0; i < len(ls.data); {
		var l Label
		l.Name, i = decodeString(ls.data, i)
		l.Value, i = decodeString(ls.data, i)
		f(l)
	}
}

// All returns an iterator over the labels in ascending name order, with the
// same aliasing as Range.
func (ls Labels) All() func(yield func(Label) bool) {
	return func(yield func(Label) bool) {
		for i := 0; i < len(ls.data); {
			var l Label
			l.Name, i = decodeString(ls.data, i)
			l.Value, i = decodeString(ls.data, i)
			if !yield(l) {
				return
			}
		}
	}
}

// Hash returns the xxhash of the set's encoding. Equal sets have equal
// hashes; the value is stable across processes and releases only as long as
// the encoding is, so it must not be persisted.
func (ls Labels) Hash() uint64 { return xxhash.Sum64String(ls.data) }

// Equal reports whether a and b hold the same labels. Because the encoding
// is canonical this is a single string comparison.
func Equal(a, b Labels) bool { return a.data == b.data }

// Compare orders label sets label by label, comparing names and then
// values, with a set that is a prefix of another ordering first. It returns
// a negative number, zero or a positive number.
func Compare(a, b Labels) int {
	// The encodings do not sort like the sets (a length prefix comes
	// first), but equal bytes are equal labels: skip the common prefix,
	// back up to the start of the label where the sets diverge, and
	// compare label by label from there.
	n := commonPrefixLen(a.data, b.data)
	if n == len(a.data) && n == len(b.data) {
		return 0
	}
	i := 0
	for i < len(a.data) {
		next := skipLabel(a.data, i)
		if next > n {
			break
		}
		i = next
	}
	// Boundaries up to n are the same in b, whose bytes agree with a's.
	j := i
	for i < len(a.data) && j < len(b.data) {
		var an, bn, av, bv string
		an, i = decodeString(a.data, i)
		bn, j = decodeString(b.data, j)
		if an != bn {
			return strings.Compare(an, bn)
		}
		av, i = decodeString(a.data, i)
		bv, j = decodeString(b.data, j)
		if av != bv {
			return strings.Compare(av, bv)
		}
	}
	switch {
	case i < len(a.data):
		return 1
	case j < len(b.data):
		return -1
	}
	return 0
}

// skipLabel returns the index just past the label starting at i.
func skipLabel(data string, i int) int {
	size, i := decodeSize(data, i)
	size, i = decodeSize(data, i+size)
	return i + size
}

// commonPrefixLen returns the length of the longest common prefix of a and
// b, comparing eight bytes at a time while they agree.
func commonPrefixLen(a, b string) int {
	n := min(len(a), len(b))
	i := 0
	if n >= 8 {
		pa, pb := unsafe.StringData(a), unsafe.StringData(b)
		for ; i+8 <= n; i += 8 {
			// Unaligned 8-byte loads; both ranges are in bounds.
			if *(*uint64)(unsafe.Add(unsafe.Pointer(pa), i)) != *(*uint64)(unsafe.Add(unsafe.Pointer(pb), i)) {
				break
			}
		}
	}
	for i < n && a[i] == b[i] {
		i++
	}
	return i
}

// String renders the set as {name="value", ...}. Values are Go-quoted;
// names are written bare when they are valid legacy label names and quoted
// otherwise, so UTF-8 names survive a round trip through the text formats.
func (ls Labels) String() string {
	var stack [512]byte
	b := append(stack[:0], '{')
	first := true
	ls.Range(func(l Label) {
		if !first {
			b = append(b, ',', ' ')
		}
		first = false
		if IsValidLegacyLabelName(l.Name) {
			b = append(b, l.Name...)
		} else {
			b = appendQuoted(b, l.Name)
		}
		b = append(b, '=')
		b = appendQuoted(b, l.Value)
	})
	b = append(b, '}')
	return string(b)
}

// appendQuoted appends strconv.Quote(s). Label values are usually plain
// printable ASCII, which Quote leaves unchanged apart from the quotes, so
// that case skips Quote's per-rune work.
func appendQuoted(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return strconv.AppendQuote(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// Map returns the labels as a new map.
func (ls Labels) Map() map[string]string {
	m := make(map[string]string)
	ls.Range(func(l Label) { m[l.Name] = l.Value })
	return m
}

// Copy returns a set with its own storage. Sets built by this package never
// share mutable memory, so this is only needed to stop a small set from
// keeping a larger backing string alive.
func (ls Labels) Copy() Labels { return Labels{data: strings.Clone(ls.data)} }

// Bytes appends the set's encoding to buf[:0] and returns it. The result is
// canonical: equal sets give equal bytes, so it serves as a map key or a
// cache key, and FromBytes turns it back into a set.
func (ls Labels) Bytes(buf []byte) []byte { return append(buf[:0], ls.data...) }

// ByteSize returns the size of the encoding in bytes.
func (ls Labels) ByteSize() int { return len(ls.data) }

// Validate calls f on each label in order and returns its first error.
func (ls Labels) Validate(f func(l Label) error) error {
	for i := 0; i < len(ls.data); {
		var l Label
		l.Name, i = decodeString(ls.data, i)
		l.Value, i = decodeString(ls.data, i)
		if err := f(l); err != nil {
			return err
		}
	}
	return nil
}

// hashNamesSorted reports whether names is ascending, which lets the hash
// helpers merge instead of searching.
func hashNamesSorted(names []string) bool { return slices.IsSorted(names) }

// containsName reports whether names holds n; names is short in practice
// (the on/ignoring list of a PromQL binary operation or a by clause).
func containsName(names []string, n string) bool { return slices.Contains(names, n) }

// HashForLabels hashes the subset of labels whose names are in names. The
// names should be sorted ascending (they then merge in one pass); unsorted
// names still give the right answer, more slowly. b is scratch space,
// returned for reuse, so repeated calls do not allocate. The hash equals
// ls.MatchLabels(true, names...).Hash().
func (ls Labels) HashForLabels(b []byte, names ...string) (uint64, []byte) {
	b = b[:0]
	sorted := hashNamesSorted(names)
	j := 0
	for i := 0; i < len(ls.data); {
		start := i
		var n string
		n, i = decodeString(ls.data, i)
		var size int
		size, i = decodeSize(ls.data, i)
		i += size
		if sorted {
			for j < len(names) && names[j] < n {
				j++
			}
			if j == len(names) {
				break
			}
			if names[j] == n {
				b = append(b, ls.data[start:i]...)
			}
		} else if containsName(names, n) {
			b = append(b, ls.data[start:i]...)
		}
	}
	return xxhash.Sum64(b), b
}

// HashWithoutLabels hashes the labels whose names are not in names, also
// leaving out the metric name, as PromQL's "ignoring" and "without" need.
// The names should be sorted; b is scratch as for HashForLabels. The hash
// equals ls.MatchLabels(false, names...).Hash().
func (ls Labels) HashWithoutLabels(b []byte, names ...string) (uint64, []byte) {
	b = b[:0]
	sorted := hashNamesSorted(names)
	j := 0
	for i := 0; i < len(ls.data); {
		start := i
		var n string
		n, i = decodeString(ls.data, i)
		var size int
		size, i = decodeSize(ls.data, i)
		i += size
		if n == MetricName {
			continue
		}
		if sorted {
			for j < len(names) && names[j] < n {
				j++
			}
			if j < len(names) && names[j] == n {
				continue
			}
		} else if containsName(names, n) {
			continue
		}
		b = append(b, ls.data[start:i]...)
	}
	return xxhash.Sum64(b), b
}

// MatchLabels returns the subset of labels named in names when on is true,
// and otherwise the labels not named in names and not the metric name, as
// PromQL's vector matching needs.
func (ls Labels) MatchLabels(on bool, names ...string) Labels {
	var buf []byte
	if on {
		_, buf = ls.HashForLabels(nil, names...)
	} else {
		_, buf = ls.HashWithoutLabels(nil, names...)
	}
	if len(buf) == len(ls.data) {
		return ls // nothing removed; share the storage
	}
	return Labels{data: ownString(buf)} // buf was allocated above, for us alone
}

// WithoutEmpty returns the set without labels whose value is empty, which
// PromQL treats as absent.
func (ls Labels) WithoutEmpty() Labels {
	var buf []byte
	for i := 0; i < len(ls.data); {
		start := i
		var size int
		size, i = decodeSize(ls.data, i)
		i += size
		size, i = decodeSize(ls.data, i)
		i += size
		if size == 0 {
			if buf == nil {
				buf = make([]byte, 0, len(ls.data))
				buf = append(buf, ls.data[:start]...)
			}
			continue
		}
		if buf != nil {
			buf = append(buf, ls.data[start:i]...)
		}
	}
	if buf == nil {
		return ls
	}
	return Labels{data: ownString(buf)}
}

// HasDuplicateLabelNames reports the first name that appears twice. The
// package invariant means it always returns ("", false) for a set built
// here; it remains as a cheap check of that invariant for callers that
// receive sets across a trust boundary.
func (ls Labels) HasDuplicateLabelNames() (string, bool) {
	prev, first := "", true
	for i := 0; i < len(ls.data); {
		var n string
		n, i = decodeString(ls.data, i)
		var size int
		size, i = decodeSize(ls.data, i)
		i += size
		if !first && n == prev {
			return n, true
		}
		prev, first = n, false
	}
	return "", false
}

// DropMetricName returns the set without the __name__ label.
func (ls Labels) DropMetricName() Labels {
	for i := 0; i < len(ls.data); {
		start := i
		var n string
		n, i = decodeString(ls.data, i)
		var size int
		size, i = decodeSize(ls.data, i)
		i += size
		if n == MetricName {
			if start == 0 { // __name__ sorts early; usually first
				return Labels{data: ls.data[i:]}
			}
			return Labels{data: ls.data[:start] + ls.data[i:]}
		}
		if n > MetricName {
			break
		}
	}
	return ls
}

// FromBytes decodes an encoding produced by Bytes. It checks that b is well
// formed, sorted and free of repeated names, so the result upholds the
// package invariant even when b comes from disk or the network.
func FromBytes(b []byte) (Labels, error) {
	if err := validateEncoding(b); err != nil {
		return Labels{}, err
	}
	return Labels{data: string(b)}, nil
}

// errMalformed describes a rejected encoding.
type errMalformed string

func (e errMalformed) Error() string { return "labels: malformed encoding: " + string(e) }

func validateEncoding(b []byte) error {
	var prev []byte
	first := true
	for i := 0; i < len(b); {
		var name, value []byte
		var err error
		name, i, err = readBytes(b, i)
		if err != nil {
			return err
		}
		value, i, err = readBytes(b, i)
		if err != nil {
			return err
		}
		_ = value
		if !first && bytes.Compare(prev, name) >= 0 {
			return errMalformed("names not strictly ascending")
		}
		prev, first = name, false
	}
	return nil
}

func readBytes(b []byte, i int) ([]byte, int, error) {
	size, n := binary.Uvarint(b[i:])
	if n <= 0 {
		return nil, 0, errMalformed("bad length")
	}
	i += n
	if size > uint64(len(b)-i) {
		return nil, 0, errMalformed("length past end")
	}
	// Reject non-minimal varints: the encoding must be canonical so that
	// equal sets compare equal as strings.
	if n != sizeVarint(size) {
		return nil, 0, errMalformed("non-canonical length")
	}
	return b[i : i+int(size)], i + int(size), nil
}
