package histogram

import "testing"

// benchHistogram returns a histogram with n positive and n negative
// buckets in spans of 10 separated by gaps of 2, starting at index start.
func benchHistogram(n int, schema, start int32) *Histogram {
	h := &Histogram{Schema: schema, ZeroThreshold: 1e-128, ZeroCount: 3, Sum: 42}
	for i := 0; i < n; i += 10 {
		s := Span{Offset: 2, Length: uint32(min(10, n-i))}
		if i == 0 {
			s.Offset = start
		}
		h.PositiveSpans = append(h.PositiveSpans, s)
		h.NegativeSpans = append(h.NegativeSpans, s)
	}
	for i := range n {
		d := int64(1)
		if i%3 == 0 {
			d = -1
		}
		if i == 0 {
			d = 5
		}
		h.PositiveBuckets = append(h.PositiveBuckets, d)
		h.NegativeBuckets = append(h.NegativeBuckets, d)
	}
	h.Count = h.ZeroCount
	var abs int64
	for _, d := range h.PositiveBuckets {
		abs += d
		h.Count += 2 * uint64(abs)
	}
	return h
}

func BenchmarkAdd(b *testing.B) {
	for _, bc := range []struct {
		name  string
		other *FloatHistogram
	}{
		// Same layout: counts added in place.
		{"same-layout", benchHistogram(100, 3, 0).ToFloat(nil)},
		// Shifted layout: a new union layout each time.
		{"union", benchHistogram(100, 3, 5).ToFloat(nil)},
		// Higher schema: other's buckets are merged while adding.
		{"merge-schema", benchHistogram(100, 5, 0).ToFloat(nil)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			orig := benchHistogram(100, 3, 0).ToFloat(nil)
			h := orig.Copy()
			b.ReportAllocs()
			for b.Loop() {
				orig.CopyTo(h) // Reuses h's storage; adding changes its layout.
				if _, _, _, err := h.Add(bc.other); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkToFloat(b *testing.B) {
	h := benchHistogram(100, 3, 0)
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.ToFloat(nil)
		}
	})
	b.Run("reuse", func(b *testing.B) {
		fh := h.ToFloat(nil)
		b.ReportAllocs()
		for b.Loop() {
			h.ToFloat(fh)
		}
	})
}

func BenchmarkDetectReset(b *testing.B) {
	prev := benchHistogram(100, 3, 0).ToFloat(nil)
	curr := prev.Copy().Mul(2)
	b.ReportAllocs()
	for b.Loop() {
		if curr.DetectReset(prev) {
			b.Fatal("reset detected")
		}
	}
}

func BenchmarkCompact(b *testing.B) {
	orig := benchHistogram(100, 3, 0).ToFloat(nil)
	for i := range orig.PositiveBuckets {
		if i%4 == 0 {
			orig.PositiveBuckets[i] = 0
		}
	}
	h := orig.Copy()
	b.ReportAllocs()
	for b.Loop() {
		orig.CopyTo(h)
		h.Compact(0)
	}
}
