package labels

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestScratchBuilder(t *testing.T) {
	tests := []struct {
		name string
		add  []Label
		want Labels
		dup  string
	}{
		{"empty", nil, EmptyLabels(), ""},
		{"sorted", []Label{{"a", "1"}, {"b", "2"}}, FromStrings("a", "1", "b", "2"), ""},
		{"reversed", []Label{{"c", "3"}, {"b", "2"}, {"a", "1"}}, FromStrings("a", "1", "b", "2", "c", "3"), ""},
		{"duplicate keeps last", []Label{{"b", "x"}, {"a", "1"}, {"b", "y"}}, FromStrings("a", "1", "b", "y"), "b"},
		{"empty value kept", []Label{{"a", ""}}, FromStrings("a", ""), ""},
	}
	b := NewScratchBuilder(2)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The same builder serves every case: Reset must forget.
			b.Reset()
			for _, l := range tc.add {
				b.Add(l.Name, l.Value)
			}
			b.Sort()
			dup, has := b.HasDuplicateLabelNames()
			if dup != tc.dup || has != (tc.dup != "") {
				t.Fatalf("HasDuplicateLabelNames = %q, %v", dup, has)
			}
			if got := b.Labels(); !Equal(got, tc.want) {
				t.Fatalf("Labels = %v, want %v", got, tc.want)
			}
			var ls Labels
			b.Overwrite(&ls)
			if !Equal(ls, tc.want) {
				t.Fatalf("Overwrite = %v, want %v", ls, tc.want)
			}
		})
	}
}

func TestScratchBuilderLargeSort(t *testing.T) {
	// More labels than the insertion-sort cutoff, with a repeated name,
	// to exercise the stable library sort.
	b := NewScratchBuilder(0)
	for i := 40; i > 0; i-- {
		b.Add(string(rune('A'+i)), "v")
	}
	b.Add("Z", "first")
	b.Add("Z", "second")
	b.Sort()
	ls := b.Labels()
	if ls.Len() != 40 || ls.Get("Z") != "second" {
		t.Fatalf("got %d labels, Z=%q", ls.Len(), ls.Get("Z"))
	}
	prev := ""
	ls.Range(func(l Label) {
		if l.Name <= prev {
			t.Fatalf("not sorted: %q after %q", l.Name, prev)
		}
		prev = l.Name
	})
}

func TestScratchBuilderUnsafeAddBytes(t *testing.T) {
	name, value := []byte("job"), []byte("api")
	b := NewScratchBuilder(1)
	b.UnsafeAddBytes(name, value)
	b.Add("a", "1")
	b.Sort()
	ls := b.Labels()
	var ow Labels
	b.Overwrite(&ow)
	// The caller may reuse its buffer once the set is built.
	copy(name, "xxx")
	copy(value, "yyy")
	want := FromStrings("a", "1", "job", "api")
	if !Equal(ls, want) || !Equal(ow, want) {
		t.Fatalf("sets alias caller bytes: %v, %v", ls, ow)
	}
}

func TestScratchBuilderAssign(t *testing.T) {
	b := NewScratchBuilder(0)
	b.Add("stale", "x")
	base := FromStrings("a", "1", "c", "3")
	b.Assign(base)
	b.Add("b", "2")
	b.Sort()
	if got, want := b.Labels(), FromStrings("a", "1", "b", "2", "c", "3"); !Equal(got, want) {
		t.Fatalf("Labels after Assign = %v, want %v", got, want)
	}
}

func TestScratchBuilderOverwrite(t *testing.T) {
	b := NewScratchBuilder(2)
	b.Add("a", "1")
	b.Add("b", "2")
	ls := b.Labels()
	shared := ls // another holder of the same set
	if n := testing.AllocsPerRun(100, func() { b.Overwrite(&ls) }); n != 0 {
		t.Fatalf("Overwrite of an identical set allocates %v times", n)
	}
	b.Reset()
	b.Add("a", "9")
	b.Add("b", "2")
	b.Overwrite(&ls)
	if !Equal(ls, FromStrings("a", "9", "b", "2")) {
		t.Fatalf("Overwrite = %v", ls)
	}
	if !Equal(shared, FromStrings("a", "1", "b", "2")) {
		t.Fatalf("Overwrite changed a shared set: %v", shared)
	}
}

func TestScratchBuilderAllocs(t *testing.T) {
	b := NewScratchBuilder(10)
	names := []string{"j", "i", "h", "g", "f", "e", "d", "c", "b", "a"}
	build := func() Labels {
		b.Reset()
		for _, n := range names {
			b.Add(n, "value")
		}
		b.Sort()
		return b.Labels()
	}
	build() // warm the buffers
	if n := testing.AllocsPerRun(100, func() { _ = build() }); n != 1 {
		t.Fatalf("building a set allocates %v times, want 1", n)
	}
}

func TestBuilder(t *testing.T) {
	base := FromStrings("__name__", "up", "a", "1", "b", "2", "e", "")
	tests := []struct {
		name string
		edit func(b *Builder)
		want Labels
	}{
		{"no edits drops empty base values", func(*Builder) {}, FromStrings("__name__", "up", "a", "1", "b", "2")},
		{"set new", func(b *Builder) { b.Set("c", "3") }, FromStrings("__name__", "up", "a", "1", "b", "2", "c", "3")},
		{"set before all", func(b *Builder) { b.Set("A", "0") }, FromStrings("A", "0", "__name__", "up", "a", "1", "b", "2")},
		{"set existing", func(b *Builder) { b.Set("a", "x") }, FromStrings("__name__", "up", "a", "x", "b", "2")},
		{"set twice", func(b *Builder) { b.Set("c", "1").Set("c", "2") }, FromStrings("__name__", "up", "a", "1", "b", "2", "c", "2")},
		{"set empty deletes", func(b *Builder) { b.Set("a", "") }, FromStrings("__name__", "up", "b", "2")},
		{"del", func(b *Builder) { b.Del("a", "__name__", "missing") }, FromStrings("b", "2")},
		{"del added", func(b *Builder) { b.Set("c", "3").Del("c") }, FromStrings("__name__", "up", "a", "1", "b", "2")},
		{"del then set", func(b *Builder) { b.Del("a").Set("a", "back") }, FromStrings("__name__", "up", "a", "back", "b", "2")},
		{"set then del then set", func(b *Builder) { b.Set("a", "x").Del("a").Set("a", "y") }, FromStrings("__name__", "up", "a", "y", "b", "2")},
		{"set empty value restores", func(b *Builder) { b.Set("e", "now") }, FromStrings("__name__", "up", "a", "1", "b", "2", "e", "now")},
		{"keep", func(b *Builder) { b.Keep("a", "missing") }, FromStrings("a", "1")},
		{"keep drops adds", func(b *Builder) { b.Set("c", "3").Set("d", "4").Keep("b", "d") }, FromStrings("b", "2", "d", "4")},
		{"keep then set", func(b *Builder) { b.Keep().Set("z", "1") }, FromStrings("z", "1")},
		{"keep nothing", func(b *Builder) { b.Keep() }, EmptyLabels()},
	}
	b := NewBuilder(EmptyLabels())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b.Reset(base) // the same builder serves every case
			tc.edit(b)
			got := b.Labels()
			if !Equal(got, tc.want) {
				t.Fatalf("Labels = %v, want %v", got, tc.want)
			}
			var ranged []Label
			b.Range(func(l Label) { ranged = append(ranged, l) })
			if !Equal(New(ranged...), tc.want) || len(ranged) != tc.want.Len() {
				t.Fatalf("Range = %v, want %v", ranged, tc.want)
			}
			for _, n := range []string{"__name__", "a", "b", "c", "d", "e", "z", "A"} {
				if got, want := b.Get(n), tc.want.Get(n); got != want {
					t.Errorf("Get(%q) = %q, want %q", n, got, want)
				}
			}
		})
	}
}

func TestBuilderNoEditsSharesBase(t *testing.T) {
	base := FromStrings("a", "1", "b", "2")
	b := NewBuilder(base)
	if n := testing.AllocsPerRun(100, func() { _ = b.Labels() }); n != 0 {
		t.Fatalf("Labels without edits allocates %v times", n)
	}
	b.Set("a", "1") // same value: the result equals the base
	if n := testing.AllocsPerRun(100, func() { _ = b.Labels() }); n != 0 {
		t.Fatalf("Labels with a no-op edit allocates %v times", n)
	}
	b.Set("c", "3")
	b.Labels()
	if n := testing.AllocsPerRun(100, func() { _ = b.Labels() }); n != 1 {
		t.Fatalf("Labels with an edit allocates %v times, want 1", n)
	}
	if !Equal(base, FromStrings("a", "1", "b", "2")) {
		t.Fatal("Builder changed its base")
	}
}

// TestBuilderAgainstMap applies random edits to a Builder and to a map
// model of the same semantics and compares the results.
func TestBuilderAgainstMap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	names := []string{"", "__name__", "a", "aa", "b", "job", "zz"}
	pick := func() string { return names[r.IntN(len(names))] }
	b := NewBuilder(EmptyLabels())
	for range 5000 {
		base := randomLabels(r)
		for range r.IntN(4) {
			base = NewBuilder(base).Set(pick(), "v"+pick()).Labels()
		}
		model := base.WithoutEmpty().Map()
		b.Reset(base)
		var ops []string
		for range r.IntN(6) {
			switch r.IntN(4) {
			case 0, 1:
				n, v := pick(), []string{"", "x", "y"}[r.IntN(3)]
				b.Set(n, v)
				ops = append(ops, "set "+n+"="+v)
				if v == "" {
					delete(model, n)
				} else {
					model[n] = v
				}
			case 2:
				n := pick()
				b.Del(n)
				ops = append(ops, "del "+n)
				delete(model, n)
			case 3:
				keep := []string{pick(), pick()}
				b.Keep(keep...)
				ops = append(ops, "keep "+keep[0]+","+keep[1])
				for n := range model {
					if !slices.Contains(keep, n) {
						delete(model, n)
					}
				}
			}
		}
		if got, want := b.Labels(), FromMap(model); !Equal(got, want) {
			t.Fatalf("base %v, ops %q: got %v, want %v", base, ops, got, want)
		}
	}
}
