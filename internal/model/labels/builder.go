package labels

import (
	"slices"
	"strings"
	"unsafe"
)

// ScratchBuilder collects labels for a new set, as a parser produces them:
// Add in any order, then Labels. It keeps its buffers between uses, so a
// parser that Resets one builder per series allocates only the final string
// of each set.
//
// The zero value is ready to use. A ScratchBuilder is not safe for
// concurrent use.
type ScratchBuilder struct {
	add []Label
	// order holds indexes into add in the order the labels are encoded.
	// Sorting permutes these integers rather than the Label structs:
	// moving structs of strings writes pointers, and while the garbage
	// collector runs each such write goes through a write barrier, which
	// made sorting the dominant cost of building a set.
	// INVARIANT: order is a permutation of 0..len(add)-1.
	order []int32
	// buf is the encoding scratch space, reused across Labels calls.
	buf []byte
}

// NewScratchBuilder returns a builder with room for n labels.
func NewScratchBuilder(n int) ScratchBuilder {
	return ScratchBuilder{add: make([]Label, 0, n), order: make([]int32, 0, n)}
}

// Reset empties the builder, keeping its memory.
func (b *ScratchBuilder) Reset() {
	clear(b.add) // drop references so old strings can be collected
	b.add = b.add[:0]
	b.order = b.order[:0]
}

// Add appends a label.
func (b *ScratchBuilder) Add(name, value string) {
	b.order = append(b.order, int32(len(b.add)))
	b.add = append(b.add, Label{Name: name, Value: value})
}

// UnsafeAddBytes appends a label whose name and value alias the given
// bytes without copying. The caller must leave those bytes unchanged until
// the set is produced by Labels or Overwrite, which copy them; Sort and
// HasDuplicateLabelNames only read them.
func (b *ScratchBuilder) UnsafeAddBytes(name, value []byte) {
	b.Add(unsafe.String(unsafe.SliceData(name), len(name)), unsafe.String(unsafe.SliceData(value), len(value)))
}

// Sort orders the labels by name. The sort is stable, so when a name was
// added twice the later value wins in Labels. Labels and Overwrite sort
// when needed, so calling Sort is only required before
// HasDuplicateLabelNames.
func (b *ScratchBuilder) Sort() {
	o, add := b.order, b.add
	if len(o) > 32 {
		slices.SortStableFunc(o, func(i, j int32) int { return strings.Compare(add[i].Name, add[j].Name) })
		return
	}
	// Insertion sort: parsers emit a handful of labels, often already
	// sorted, where it beats the generic sort.
	for i := 1; i < len(o); i++ {
		x := o[i]
		name := add[x].Name
		j := i
		for ; j > 0 && lessName(name, add[o[j-1]].Name); j-- {
			o[j] = o[j-1]
		}
		o[j] = x
	}
}

// lessName is a < b. Label names usually differ in their first byte, and
// testing that inline skips the call into the runtime's string comparison.
func lessName(a, b string) bool {
	if len(a) > 0 && len(b) > 0 && a[0] != b[0] {
		return a[0] < b[0]
	}
	return a < b
}

// sorted reports whether the labels are already in name order.
func (b *ScratchBuilder) sorted() bool {
	for i := 1; i < len(b.order); i++ {
		if lessName(b.add[b.order[i]].Name, b.add[b.order[i-1]].Name) {
			return false
		}
	}
	return true
}

// HasDuplicateLabelNames reports the first name added more than once. It
// must be called after Sort. Parsers use it to reject inputs such as
// foo{a="1",a="2"}, which Labels would otherwise resolve by keeping the last
// value.
func (b *ScratchBuilder) HasDuplicateLabelNames() (string, bool) {
	for i := 1; i < len(b.order); i++ {
		if n := b.add[b.order[i]].Name; n == b.add[b.order[i-1]].Name {
			return n, true
		}
	}
	return "", false
}

// Assign replaces the builder's contents with the labels of ls.
func (b *ScratchBuilder) Assign(ls Labels) {
	b.Reset()
	ls.Range(func(l Label) { b.Add(l.Name, l.Value) })
}

// encode writes the labels into b.buf in name order, dropping repeated
// names (the last value wins). Sorting here, when the caller has not,
// keeps the package invariant whatever order labels were added in.
func (b *ScratchBuilder) encode() []byte {
	if !b.sorted() {
		b.Sort()
	}
	buf := b.buf[:0]
	for i, x := range b.order {
		l := b.add[x]
		if i+1 < len(b.order) && b.add[b.order[i+1]].Name == l.Name {
			continue
		}
		buf = appendLabel(buf, l.Name, l.Value)
	}
	b.buf = buf
	return buf
}

// Labels returns the set built so far. The result owns its memory: one
// allocation, no aliasing of the builder or of bytes given to
// UnsafeAddBytes.
func (b *ScratchBuilder) Labels() Labels {
	if len(b.add) == 0 {
		return Labels{}
	}
	return Labels{data: string(b.encode())}
}

// Overwrite stores the set built so far in *ls. When *ls already holds
// exactly that set it is left untouched and nothing is allocated, the
// common case when a scraper rebuilds the same series every interval.
// Otherwise *ls gets a freshly allocated set. It never writes into memory
// *ls refers to, because Labels values are shared freely and that memory
// may be referenced elsewhere; reuse is only ever safe when nothing changes.
func (b *ScratchBuilder) Overwrite(ls *Labels) {
	buf := b.encode()
	if string(buf) == ls.data { // compared without allocating
		return
	}
	ls.data = string(buf)
}

// Builder edits a base set: Set, Del and Keep record changes, Labels applies
// them. The zero value edits the empty set. It is meant to be Reset and
// reused; it is not safe for concurrent use.
type Builder struct {
	base Labels
	// del holds names removed from base. A name may be both in del and in
	// add; add wins.
	del []string
	// INVARIANT: add is sorted by name with no repeated names and no empty
	// values, so Labels can merge it with base in one pass.
	add []Label
	buf []byte
}

// NewBuilder returns a builder editing base.
func NewBuilder(base Labels) *Builder {
	b := &Builder{
		del: make([]string, 0, 5),
		add: make([]Label, 0, 5),
	}
	b.Reset(base)
	return b
}

// Reset discards all edits and starts from base. Labels with empty values
// in base are dropped, since an empty value means the label is absent.
func (b *Builder) Reset(base Labels) {
	b.base = base
	clear(b.del)
	b.del = b.del[:0]
	clear(b.add)
	b.add = b.add[:0]
	for i := 0; i < len(base.data); {
		var n string
		n, i = decodeString(base.data, i)
		var size int
		size, i = decodeSize(base.data, i)
		i += size
		if size == 0 {
			b.del = append(b.del, n)
		}
	}
}

// addIndex returns the position of name in b.add, or where it would go.
func (b *Builder) addIndex(name string) (int, bool) {
	return slices.BinarySearchFunc(b.add, name, func(l Label, n string) int { return strings.Compare(l.Name, n) })
}

// Del removes the named labels.
func (b *Builder) Del(ns ...string) *Builder {
	for _, n := range ns {
		if i, ok := b.addIndex(n); ok {
			b.add = slices.Delete(b.add, i, i+1)
		}
		if !slices.Contains(b.del, n) {
			b.del = append(b.del, n)
		}
	}
	return b
}

// Keep removes every label, of the base or added, whose name is not in ns.
func (b *Builder) Keep(ns ...string) *Builder {
	b.base.Range(func(l Label) {
		if !slices.Contains(ns, l.Name) && !slices.Contains(b.del, l.Name) {
			b.del = append(b.del, l.Name)
		}
	})
	b.add = slices.DeleteFunc(b.add, func(l Label) bool { return !slices.Contains(ns, l.Name) })
	return b
}

// Set sets the named label to v, replacing any earlier value. An empty v
// deletes the label.
func (b *Builder) Set(n, v string) *Builder {
	if v == "" {
		return b.Del(n)
	}
	i, ok := b.addIndex(n)
	if ok {
		b.add[i].Value = v
		return b
	}
	b.add = slices.Insert(b.add, i, Label{Name: n, Value: v})
	return b
}

// Get returns the current value of the named label, or "".
func (b *Builder) Get(n string) string {
	if i, ok := b.addIndex(n); ok {
		return b.add[i].Value
	}
	if slices.Contains(b.del, n) {
		return ""
	}
	return b.base.Get(n)
}

// Range calls f for each label of the current result in ascending name
// order. f must not modify the builder.
func (b *Builder) Range(f func(l Label)) {
	b.merge(func(name, value string) { f(Label{Name: name, Value: value}) })
}

// merge visits the labels of the result in order: base minus deleted and
// overridden names, interleaved with add.
func (b *Builder) merge(f func(name, value string)) {
	j := 0
	data := b.base.data
	for i := 0; i < len(data); {
		var n, v string
		n, i = decodeString(data, i)
		v, i = decodeString(data, i)
		for j < len(b.add) && b.add[j].Name < n {
			f(b.add[j].Name, b.add[j].Value)
			j++
		}
		if j < len(b.add) && b.add[j].Name == n {
			continue // overridden; emitted when add passes it
		}
		if len(b.del) > 0 && slices.Contains(b.del, n) {
			continue
		}
		f(n, v)
	}
	for ; j < len(b.add); j++ {
		f(b.add[j].Name, b.add[j].Value)
	}
}

// Labels returns the edited set. With no edits it returns the base without
// allocating; otherwise it allocates once.
func (b *Builder) Labels() Labels {
	if len(b.del) == 0 && len(b.add) == 0 {
		return b.base
	}
	buf := b.appendResult(b.buf[:0])
	b.buf = buf
	if string(buf) == b.base.data {
		return b.base // edits cancelled out; share the base
	}
	return Labels{data: string(buf)}
}

// appendResult appends the encoding of the edited set. Base labels that
// survive are copied as raw encoded runs rather than decoded and
// re-encoded, which is most of the work when only a few labels change.
func (b *Builder) appendResult(buf []byte) []byte {
	data := b.base.data
	j, runStart := 0, 0
	for i := 0; i < len(data); {
		start := i
		var n string
		n, i = decodeString(data, i)
		size, k := decodeSize(data, i)
		i = k + size
		for j < len(b.add) && b.add[j].Name < n {
			buf = append(buf, data[runStart:start]...)
			runStart = start
			buf = appendLabel(buf, b.add[j].Name, b.add[j].Value)
			j++
		}
		if (j < len(b.add) && b.add[j].Name == n) || (len(b.del) > 0 && slices.Contains(b.del, n)) {
			// Dropped or overridden: end the run before this label.
			buf = append(buf, data[runStart:start]...)
			runStart = i
		}
	}
	buf = append(buf, data[runStart:]...)
	for ; j < len(b.add); j++ {
		buf = appendLabel(buf, b.add[j].Name, b.add[j].Value)
	}
	return buf
}
