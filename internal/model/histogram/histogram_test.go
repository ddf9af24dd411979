package histogram

import (
	"errors"
	"math"
	"slices"
	"testing"
	"unsafe"
)

func TestString(t *testing.T) {
	for _, tc := range []struct {
		name, got, want string
	}{
		{"histogram", GenerateTestHistogram(1).String(),
			"{count:23, sum:3, [-1.414213562373095,-1):2, [-1,-0.7071067811865475):3, [-0.001,0.001]:2, " +
				"(0.35355339059327373,0.5]:2, (0.5,0.7071067811865475]:4, (0.7071067811865475,1]:3, " +
				"(2,2.82842712474619]:2, (2.82842712474619,4]:5}"},
		{"float histogram", GenerateTestFloatHistogram(1).String(),
			"{count:23, sum:3, [-1.414213562373095,-1):2, [-1,-0.7071067811865475):3, [-0.001,0.001]:2, " +
				"(0.35355339059327373,0.5]:2, (0.5,0.7071067811865475]:4, (0.7071067811865475,1]:3, " +
				"(2,2.82842712474619]:2, (2.82842712474619,4]:5}"},
		{"custom", GenerateTestCustomBucketsHistogram(0).String(),
			"{count:7, sum:2.5, [-Inf,0.1]:1, (0.1,0.5]:2, (1,5]:1, (5,+Inf]:3}"},
		{"integer counts stay integers", (&Histogram{Count: 1e6, PositiveSpans: []Span{{0, 1}}, PositiveBuckets: []int64{1e6}}).String(),
			"{count:1000000, sum:0, (0.5,1]:1000000}"},
		{"float counts use %g", (&FloatHistogram{Count: 1e6, PositiveSpans: []Span{{0, 1}}, PositiveBuckets: []float64{1e6}}).String(),
			"{count:1e+06, sum:0, (0.5,1]:1e+06}"},
		{"negative zero count and unclamped bounds", exp(0, 0.3, -1, 0, 0, []Span{{-1, 1}}, []float64{2}, nil, nil).String(),
			"{count:0, sum:0, [-0.3,0.3]:-1, (0.25,0.5]:2}"},
		{"empty", (&Histogram{}).String(), "{count:0, sum:0}"},
		{"bucket", Bucket{Lower: -1, Upper: 2.5, LowerInclusive: true, Count: 0.5}.String(), "[-1,2.5):0.5"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, tc.got, tc.want)
		}
	}
}

func TestTestExpression(t *testing.T) {
	if got, want := GenerateTestFloatHistogram(1).TestExpression(),
		"{{schema:1 count:23 sum:3 z_bucket:2 z_bucket_w:0.001 offset:-2 buckets:[2 4 3 0 0 2 5] n_buckets:[3 2]}}"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	c := GenerateTestCustomBucketsHistogram(0).ToFloat(nil)
	c.CounterResetHint = GaugeType
	if got, want := c.TestExpression(),
		"{{schema:-53 count:7 sum:2.5 custom_values:[0.1 0.5 1 5] counter_reset_hint:gauge buckets:[1 2 0 1 3]}}"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got, want := (&FloatHistogram{}).TestExpression(), "{{}}"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestCopy(t *testing.T) {
	h := GenerateTestHistogram(2)
	c := h.Copy()
	if !c.Equals(h) || !slices.Equal(c.PositiveBuckets, h.PositiveBuckets) {
		t.Fatalf("copy %v differs from %v", c, h)
	}
	c.PositiveBuckets[0]++
	c.NegativeSpans[0].Length++
	if h.PositiveBuckets[0] == c.PositiveBuckets[0] || h.NegativeSpans[0] == c.NegativeSpans[0] {
		t.Error("copy shares storage with the original")
	}

	fh := GenerateTestFloatHistogram(2)
	fc := fh.Copy()
	if !fc.Equals(fh) {
		t.Fatalf("copy %v differs from %v", fc, fh)
	}
	fc.PositiveBuckets[0]++
	if fh.PositiveBuckets[0] == fc.PositiveBuckets[0] {
		t.Error("float copy shares storage with the original")
	}

	// Custom values are shared; fields custom buckets do not use are not
	// copied.
	ch := GenerateTestCustomBucketsHistogram(0)
	ch.ZeroCount, ch.NegativeSpans = 5, []Span{{0, 1}}
	cc := ch.Copy()
	if &cc.CustomValues[0] != &ch.CustomValues[0] {
		t.Error("custom values copied, want shared")
	}
	if cc.ZeroCount != 0 || cc.NegativeSpans != nil {
		t.Errorf("unused fields copied: %+v", cc)
	}
	if c := (&Histogram{}).Copy(); c.PositiveSpans != nil || c.PositiveBuckets != nil {
		t.Errorf("copy of an empty histogram has non-nil slices: %+v", c)
	}
}

func TestCopyToReusesStorage(t *testing.T) {
	src := GenerateTestFloatHistogram(1)
	dst := &FloatHistogram{
		PositiveSpans: make([]Span, 10), PositiveBuckets: make([]float64, 10),
		NegativeSpans: make([]Span, 10), NegativeBuckets: make([]float64, 10),
		CustomValues: []float64{1},
	}
	pb := &dst.PositiveBuckets[0]
	src.CopyTo(dst)
	if !dst.Equals(src) || dst.CustomValues != nil {
		t.Fatalf("CopyTo result %v differs from %v", dst, src)
	}
	if &dst.PositiveBuckets[0] != pb {
		t.Error("CopyTo did not reuse storage")
	}
	// Copying a custom buckets histogram over it clears the negative side.
	csrc := GenerateTestCustomBucketsHistogram(1).ToFloat(nil)
	csrc.CopyTo(dst)
	if !dst.Equals(csrc) || len(dst.NegativeBuckets) != 0 || dst.ZeroThreshold != 0 {
		t.Errorf("CopyTo of custom histogram: %+v", dst)
	}

	hdst := &Histogram{PositiveBuckets: make([]int64, 10)}
	GenerateTestHistogram(1).CopyTo(hdst)
	if !hdst.Equals(GenerateTestHistogram(1)) {
		t.Errorf("Histogram.CopyTo: %v", hdst)
	}
}

func TestToFloat(t *testing.T) {
	h := GenerateTestHistogram(1)
	fh := h.ToFloat(nil)
	want := exp(1, 0.001, 2, 23, 3,
		[]Span{{-2, 3}, {2, 2}}, []float64{2, 4, 3, 2, 5},
		[]Span{{0, 2}}, []float64{3, 2})
	if !fh.Equals(want) {
		t.Errorf("ToFloat = %v, want %v", fh, want)
	}
	// Reuse, including a switch to custom buckets.
	pb := &fh.PositiveBuckets[0]
	c := GenerateTestCustomBucketsHistogram(0).ToFloat(fh)
	if c != fh || &fh.PositiveBuckets[0] != pb {
		t.Error("ToFloat did not reuse the given histogram")
	}
	wantC := custom([]float64{0.1, 0.5, 1, 5}, 7, 2.5, []Span{{0, 2}, {1, 2}}, []float64{1, 2, 1, 3})
	if !c.Equals(wantC) || len(c.NegativeBuckets) != 0 || c.ZeroCount != 0 {
		t.Errorf("ToFloat = %v, want %v", c, wantC)
	}
	// Summing deltas in float64 matches Prometheus beyond 2^53.
	big := &Histogram{PositiveSpans: []Span{{0, 2}}, PositiveBuckets: []int64{1 << 60, 1 - 1<<60 + 1<<53}}
	if got := big.ToFloat(nil).PositiveBuckets[1]; got != float64(1<<60)+float64(1-1<<60+1<<53) {
		t.Errorf("second bucket %v", got)
	}
}

func TestEquals(t *testing.T) {
	nan := math.NaN()
	base := func() *FloatHistogram {
		return exp(0, 0.01, 1, 10, nan, []Span{{0, 2}, {1, 1}}, []float64{1, 2, 3}, nil, nil)
	}
	with := func(mod func(h *FloatHistogram)) *FloatHistogram {
		h := base()
		mod(h)
		return h
	}
	for _, tc := range []struct {
		name string
		a, b *FloatHistogram
		want bool
	}{
		{"same, NaN sum", base(), base(), true},
		{"zero-length spans do not matter", base(), with(func(h *FloatHistogram) {
			h.PositiveSpans = []Span{{-2, 0}, {2, 2}, {0, 0}, {1, 1}, {4, 0}}
		}), true},
		{"adjacent spans are a different layout", exp(0, 0, 0, 0, 0, []Span{{0, 3}}, []float64{1, 2, 3}, nil, nil),
			exp(0, 0, 0, 0, 0, []Span{{0, 2}, {0, 1}}, []float64{1, 2, 3}, nil, nil), false},
		{"nil and empty slices", exp(0, 0, 0, 0, 0, nil, nil, nil, nil), exp(0, 0, 0, 0, 0, []Span{}, []float64{}, nil, nil), true},
		{"schema", base(), with(func(h *FloatHistogram) { h.Schema = 1 }), false},
		{"count", base(), with(func(h *FloatHistogram) { h.Count = 11 }), false},
		{"different NaN", base(), with(func(h *FloatHistogram) { h.Sum = math.Float64frombits(0x7ff0000000000002) }), false},
		{"zero count sign", with(func(h *FloatHistogram) { h.ZeroCount = 0 }), with(func(h *FloatHistogram) { h.ZeroCount = math.Copysign(0, -1) }), false},
		{"zero threshold", base(), with(func(h *FloatHistogram) { h.ZeroThreshold = 0.1 }), false},
		{"bucket", base(), with(func(h *FloatHistogram) { h.PositiveBuckets[2] = 4 }), false},
		{"layout", base(), with(func(h *FloatHistogram) { h.PositiveSpans[1].Offset = 2 }), false},
		{"counter reset hint is not data", base(), with(func(h *FloatHistogram) { h.CounterResetHint = GaugeType }), true},
		{"custom values ignored for exponential", base(), with(func(h *FloatHistogram) { h.CustomValues = []float64{1} }), true},
		{"custom values", custom([]float64{1, 2}, 1, 1, nil, nil), custom([]float64{1, 3}, 1, 1, nil, nil), false},
		{"nil", base(), nil, false},
	} {
		if got := tc.a.Equals(tc.b); got != tc.want {
			t.Errorf("%s: Equals = %v, want %v", tc.name, got, tc.want)
		}
		if tc.b == nil {
			continue
		}
		if got := tc.b.Equals(tc.a); got != tc.want {
			t.Errorf("%s: reverse Equals = %v, want %v", tc.name, got, tc.want)
		}
	}
	var nilH *FloatHistogram
	if !nilH.Equals(nil) {
		t.Error("nil does not equal nil")
	}

	h := GenerateTestHistogram(1)
	if !h.Equals(GenerateTestHistogram(1)) || h.Equals(GenerateTestHistogram(2)) || h.Equals(nil) {
		t.Error("Histogram.Equals is wrong")
	}
	c1, c2 := GenerateTestCustomBucketsHistogram(1), GenerateTestCustomBucketsHistogram(1)
	c2.CustomValues = []float64{0.1, 0.5, 1, 6}
	if c1.Equals(c2) {
		t.Error("Histogram.Equals ignores custom values")
	}
}

func TestMulDiv(t *testing.T) {
	h := GenerateTestFloatHistogram(1).Mul(2)
	want := exp(1, 0.001, 4, 46, 6,
		[]Span{{-2, 3}, {2, 2}}, []float64{4, 8, 6, 4, 10},
		[]Span{{0, 2}}, []float64{6, 4})
	if !h.Equals(want) || h.CounterResetHint != UnknownCounterReset {
		t.Errorf("Mul(2) = %v", h)
	}
	if h.Div(4); !h.Equals(GenerateTestFloatHistogram(1).Mul(0.5)) {
		t.Errorf("Div(4) = %v", h)
	}
	if h.Mul(-1); h.CounterResetHint != GaugeType || h.Count != -11.5 {
		t.Errorf("Mul(-1) = %v, hint %v", h, h.CounterResetHint)
	}
	h = GenerateTestFloatHistogram(1)
	if h.Div(-2); h.CounterResetHint != GaugeType || h.PositiveBuckets[0] != -1 {
		t.Errorf("Div(-2) = %v, hint %v", h, h.CounterResetHint)
	}
	h = GenerateTestFloatHistogram(1).Div(0)
	if !math.IsInf(h.Count, 1) || !math.IsInf(h.ZeroCount, 1) || h.PositiveBuckets != nil || h.NegativeSpans != nil {
		t.Errorf("Div(0) = %+v", h)
	}
	if h.CounterResetHint != UnknownCounterReset {
		t.Errorf("Div(0) changed the hint to %v", h.CounterResetHint)
	}
}

func TestSize(t *testing.T) {
	if got := int(unsafe.Sizeof(FloatHistogram{})) + int(unsafe.Sizeof(&FloatHistogram{})); got != floatHistogramStructSize {
		t.Errorf("struct and pointer take %d bytes, Size assumes %d", got, floatHistogramStructSize)
	}
	if got, want := GenerateTestFloatHistogram(0).Size(), 168+3*8+7*8; got != want {
		t.Errorf("Size() = %d, want %d", got, want)
	}
	if got, want := GenerateTestCustomBucketsHistogram(0).ToFloat(nil).Size(), 168+2*8+4*8+4*8; got != want {
		t.Errorf("custom Size() = %d, want %d", got, want)
	}
}

func TestReduceResolution(t *testing.T) {
	// Schema 2 buckets -4..4 land in schema 0 buckets -1 (-4), 0 (-3..0)
	// and 1 (1..4).
	h := &Histogram{
		Schema: 2, Count: 45,
		PositiveSpans: []Span{{-4, 5}, {1, 3}}, PositiveBuckets: toDeltas([]float64{1, 2, 3, 4, 5, 7, 8, 9}),
		NegativeSpans: []Span{{3, 1}}, NegativeBuckets: []int64{6},
	}
	if err := h.ReduceResolution(0); err != nil {
		t.Fatal(err)
	}
	want := &Histogram{
		Schema: 0, Count: 45,
		PositiveSpans: []Span{{-1, 3}}, PositiveBuckets: toDeltas([]float64{1, 14, 24}),
		NegativeSpans: []Span{{1, 1}}, NegativeBuckets: []int64{6},
	}
	if !h.Equals(want) {
		t.Errorf("got %v %v, want %v %v", h.PositiveSpans, h.PositiveBuckets, want.PositiveSpans, want.PositiveBuckets)
	}

	fh := &FloatHistogram{
		Schema:        2,
		PositiveSpans: []Span{{-4, 5}, {1, 3}}, PositiveBuckets: []float64{1, 2, 3, 4, 5, 7, 8, 9},
	}
	c := fh.CopyToSchema(0)
	if err := fh.ReduceResolution(0); err != nil {
		t.Fatal(err)
	}
	for _, got := range []*FloatHistogram{fh, c} {
		if !slices.Equal(got.PositiveSpans, []Span{{-1, 3}}) || !slices.Equal(got.PositiveBuckets, []float64{1, 14, 24}) || got.Schema != 0 {
			t.Errorf("float: got %v %v", got.PositiveSpans, got.PositiveBuckets)
		}
	}

	// A gap in the lower schema keeps spans apart.
	fh = &FloatHistogram{Schema: 1, PositiveSpans: []Span{{0, 1}, {5, 1}}, PositiveBuckets: []float64{1, 2}}
	if err := fh.ReduceResolution(0); err != nil || !slices.Equal(fh.PositiveSpans, []Span{{0, 1}, {2, 1}}) {
		t.Errorf("got %v, %v", fh.PositiveSpans, err)
	}

	// Scraped histograms of too high a resolution are reduced to 8.
	hi := &Histogram{Schema: 12, Count: 3, PositiveSpans: []Span{{1, 2}}, PositiveBuckets: []int64{1, 1}}
	if err := hi.ReduceResolution(ExponentialSchemaMax); err != nil || hi.Validate() != nil ||
		!slices.Equal(hi.PositiveSpans, []Span{{1, 1}}) || !slices.Equal(hi.PositiveBuckets, []int64{3}) {
		t.Errorf("schema 12 to 8: %v %v %v", hi.PositiveSpans, hi.PositiveBuckets, err)
	}

	for _, tc := range []struct {
		name   string
		h      *FloatHistogram
		target int32
		want   error
	}{
		{"custom buckets", GenerateTestCustomBucketsHistogram(0).ToFloat(nil), 0, nil},
		{"to custom", GenerateTestFloatHistogram(0), CustomBucketsSchema, nil},
		{"not lower", GenerateTestFloatHistogram(0), 1, nil},
		{"too low", GenerateTestFloatHistogram(0), -5, ErrHistogramsInvalidSchema},
		{"broken layout", func() *FloatHistogram {
			h := GenerateTestFloatHistogram(0)
			h.NegativeSpans[0].Length = 7
			return h
		}(), 0, ErrHistogramSpansBucketsMismatch},
	} {
		before := tc.h.Copy()
		err := tc.h.ReduceResolution(tc.target)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: got %v, want an error (%v)", tc.name, err, tc.want)
		}
		if !tc.h.Equals(before) || tc.h.Schema != before.Schema {
			t.Errorf("%s: histogram modified despite the error", tc.name)
		}
	}

	defer func() {
		if recover() == nil {
			t.Error("CopyToSchema to a higher schema did not panic")
		}
	}()
	GenerateTestFloatHistogram(0).CopyToSchema(2)
}

func TestGenerators(t *testing.T) {
	for i := range 10 {
		for _, h := range []*Histogram{GenerateTestHistogram(i), GenerateTestGaugeHistogram(i), GenerateTestCustomBucketsHistogram(i)} {
			if err := h.Validate(); err != nil {
				t.Fatalf("%d: %v: %v", i, h, err)
			}
		}
		if err := GenerateTestFloatHistogram(i).Validate(); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			for _, g := range []func(int) *Histogram{GenerateTestHistogram, GenerateTestCustomBucketsHistogram} {
				if g(i).ToFloat(nil).DetectReset(g(i - 1).ToFloat(nil)) {
					t.Errorf("generator %d: reset between %d and %d", i, i-1, i)
				}
			}
		}
	}
}
