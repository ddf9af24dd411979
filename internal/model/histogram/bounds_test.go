package histogram

import (
	"math"
	"math/big"
	"testing"
)

// TestBoundFractions guards the literal table against typos: each entry
// must be within a few units in the last place of the exact 2^(i/256)/2
// (the table Prometheus uses deviates by up to 4), and the table strictly
// increasing.
func TestBoundFractions(t *testing.T) {
	// 2^(1/256) to 256 bits by square roots of 2, then powers of it.
	root := new(big.Float).SetPrec(256).SetInt64(2)
	for range 8 {
		root.Sqrt(root)
	}
	exact := new(big.Float).SetPrec(256).SetFloat64(0.5)
	maxUlps := int64(0)
	for i, got := range boundFractions {
		want, _ := exact.Float64()
		ulps := int64(math.Float64bits(got)) - int64(math.Float64bits(want))
		maxUlps = max(maxUlps, ulps, -ulps)
		if ulps < -4 || ulps > 4 {
			t.Errorf("boundFractions[%d] = %v, %d ulps from %v", i, got, ulps, want)
		}
		if i > 0 && got <= boundFractions[i-1] {
			t.Errorf("boundFractions[%d] = %v not above its predecessor", i, got)
		}
		exact.Mul(exact, root)
	}
	t.Logf("largest deviation: %d ulps", maxUlps)
}

// TestBoundFractionsMatchPrometheus pins entries whose float64 value is not
// the correctly rounded one, and entries every lower schema uses, to the
// values Prometheus' per-schema tables hold.
func TestBoundFractionsMatchPrometheus(t *testing.T) {
	for _, tc := range []struct {
		schema int32
		i      int32
		want   float64
	}{
		{1, 1, 0.7071067811865475}, // Correctly rounded would be ...476.
		{2, 1, 0.5946035575013605},
		{2, 3, 0.8408964152537144},
		{3, 3, 0.6484197773255048},
		{3, 7, 0.9170040432046711},
		{4, 15, 0.9576032806985735},
		{5, 31, 0.9785720620876999},
		{6, 63, 0.9892280131939752},
		{7, 3, 0.5081891574554764}, // Correctly rounded would be ...765.
		{7, 127, 0.9945994234836328},
		{8, 229, 0.92950288621441},
		{8, 255, 0.9972960560854698},
	} {
		// Bucket i of schema s in [1, 2) has the upper bound 2·frac.
		if got := getBound(tc.i, tc.schema, nil); got != 2*tc.want {
			t.Errorf("getBound(%d, %d) = %v, want %v", tc.i, tc.schema, got, 2*tc.want)
		}
	}
}

func TestGetBound(t *testing.T) {
	for _, tc := range []struct {
		idx, schema int32
		want        float64
	}{
		{0, 0, 1},
		{1, 0, 2},
		{-1, 0, 0.5},
		{10, 0, 1024},
		{1023, 0, math.Ldexp(1, 1023)},
		{1024, 0, math.MaxFloat64}, // Last finite bucket.
		{1025, 0, math.Inf(1)},     // The bucket for +Inf observations.
		{-1074, 0, math.Ldexp(1, -1074)},
		{-1075, 0, 0},
		{1, -4, 65536},
		{-1, -4, 1.0 / 65536},
		{64, -4, math.MaxFloat64},
		{65, -4, math.Inf(1)},
		{1, -1, 4},
		{512, -1, math.MaxFloat64},
		{1, 1, 2 * 0.7071067811865475},
		{2, 1, 2},
		{2047, 1, math.Ldexp(0.7071067811865475, 1024)},
		{2048, 1, math.MaxFloat64},
		{-1, 2, 0.8408964152537144}, // 2^(-1/4).
		{-4, 2, 0.5},
		{1, 3, 2 * 0.5452538663326288},
		{1, 8, 2 * 0.5013556375251013},
		{128, 8, 2 * 0.7071067811865475},
		{256, 8, 2},
		{-256, 8, 0.5},
		{1024 << 8, 8, math.MaxFloat64},
		{1024<<8 + 1, 8, math.Inf(1)},
	} {
		if got := getBound(tc.idx, tc.schema, nil); got != tc.want {
			t.Errorf("getBound(%d, %d) = %v, want %v", tc.idx, tc.schema, got, tc.want)
		}
	}
}

// TestGetBoundSchemasNest checks what reducing the resolution relies on:
// every boundary of schema s is, bit for bit, a boundary of schema s+1,
// and boundaries increase and track 2^(i·2^-s).
func TestGetBoundSchemasNest(t *testing.T) {
	for s := ExponentialSchemaMin; s <= ExponentialSchemaMax; s++ {
		prev := 0.0
		// Stay within the normal float64 range, 2^±1000.
		n := int32(600)
		if s < 0 {
			n = 1000 >> -s
		}
		for i := -n; i <= n; i++ {
			b := getBound(i, s, nil)
			if b <= prev {
				t.Fatalf("schema %d: bound %d = %v not above bound %d = %v", s, i, b, i-1, prev)
			}
			prev = b
			if s < ExponentialSchemaMax {
				if finer := getBound(2*i, s+1, nil); finer != b {
					t.Fatalf("schema %d bound %d = %v, but schema %d bound %d = %v", s, i, b, s+1, 2*i, finer)
				}
			}
			want := math.Exp2(float64(i) * math.Exp2(-float64(s)))
			if math.Abs(b-want) > 1e-15*want { // The table is up to 4 ulps off.
				t.Fatalf("schema %d: bound %d = %v, want about %v", s, i, b, want)
			}
		}
	}
}

func TestGetBoundCustom(t *testing.T) {
	bounds := []float64{-1, 0.5, 10}
	for _, tc := range []struct {
		idx  int32
		want float64
	}{
		{-1, math.Inf(-1)},
		{0, -1},
		{1, 0.5},
		{2, 10},
		{3, math.Inf(1)},
		{4, math.Inf(1)}, // Only in invalid histograms.
	} {
		if got := getBound(tc.idx, CustomBucketsSchema, bounds); got != tc.want {
			t.Errorf("getBound(%d, custom) = %v, want %v", tc.idx, got, tc.want)
		}
	}
}

func TestReduceIdx(t *testing.T) {
	for _, tc := range []struct {
		idx   int64
		shift int32
		want  int64
	}{
		{0, 1, 0}, {1, 1, 1}, {2, 1, 1}, {3, 1, 2}, {-1, 1, 0}, {-2, 1, -1},
		{0, 2, 0}, {1, 2, 1}, {4, 2, 1}, {5, 2, 2}, {-3, 2, 0}, {-4, 2, -1},
		{7, 0, 7},
	} {
		if got := reduceIdx(tc.idx, tc.shift); got != tc.want {
			t.Errorf("reduceIdx(%d, %d) = %d, want %d", tc.idx, tc.shift, got, tc.want)
		}
		// The merged bucket must contain the original one.
		s := int32(3)
		hi, lo := getBound(int32(tc.idx), s, nil), getBound(int32(tc.idx)-1, s, nil)
		t2 := int32(reduceIdx(tc.idx, tc.shift))
		if getBound(t2, s-tc.shift, nil) < hi || getBound(t2-1, s-tc.shift, nil) > lo {
			t.Errorf("reduceIdx(%d, %d) = %d does not contain the bucket", tc.idx, tc.shift, t2)
		}
	}
}

func TestSchemaPredicates(t *testing.T) {
	for _, tc := range []struct {
		s                                   int32
		custom, exp, reserved, valid, known bool
	}{
		{-53, true, false, false, true, true},
		{-10, false, false, false, false, false},
		{-9, false, false, true, false, true},
		{-5, false, false, true, false, true},
		{-4, false, true, true, true, true},
		{8, false, true, true, true, true},
		{9, false, false, true, false, true},
		{52, false, false, true, false, true},
		{53, false, false, false, false, false},
	} {
		if IsCustomBucketsSchema(tc.s) != tc.custom || IsExponentialSchema(tc.s) != tc.exp ||
			IsExponentialSchemaReserved(tc.s) != tc.reserved || IsValidSchema(tc.s) != tc.valid ||
			IsKnownSchema(tc.s) != tc.known {
			t.Errorf("schema %d: predicates disagree with %+v", tc.s, tc)
		}
	}
}
