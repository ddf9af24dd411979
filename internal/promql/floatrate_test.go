package promql

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/vigil-monitoring/vigil/internal/promql/parser"
)

// TestFloatRateMatchesExtrapolatedRate checks that the shortcut of
// evalRangeFunction for rate, increase and delta gives bit-identical
// results to extrapolatedRate, over windows with resets, counters near
// zero (where extrapolation is clamped), irregular spacing and reused
// window shapes.
func TestFloatRateMatchesExtrapolatedRate(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 2))
	args := parser.Expressions{&parser.NumberLiteral{}}
	kinds := []struct {
		name              string
		isCounter, isRate bool
	}{{"rate", true, true}, {"increase", true, false}, {"delta", false, false}}
	for _, k := range kinds {
		for round := range 3000 {
			rangeMs := int64(1+rng.IntN(20)) * 10_000
			fr := newFloatRate(k.isCounter, k.isRate, rangeMs)
			// A few steps per round so that cached shapes get reused and
			// replaced.
			for step := range 8 {
				rangeEnd := int64(1_000_000 + step*10_000)
				rangeStart := rangeEnd - rangeMs
				n := 1 + rng.IntN(12)
				fs := make([]FPoint, 0, n)
				regular := round%2 == 0
				tt := rangeStart + 1 + int64(rng.IntN(10_000))
				if regular {
					tt = rangeStart + 3_000
				}
				v := 0.0
				switch rng.IntN(4) {
				case 0:
					v = rng.Float64() * 1e-3
				case 1:
					v = rng.Float64() * 1e12
				case 2:
					v = -rng.Float64() * 10
				}
				resets := 0
				for len(fs) < n && tt <= rangeEnd {
					if len(fs) > 0 && fs[len(fs)-1].F > v {
						resets++
					}
					fs = append(fs, FPoint{T: tt, F: v})
					if regular {
						tt += 10_000
					} else {
						tt += 1 + int64(rng.IntN(20_000))
					}
					switch rng.IntN(10) {
					case 0:
						v = rng.Float64() * 5 // a reset, mostly
					case 1:
						v += rng.Float64() * 1e6
					default:
						v += rng.Float64() * 3
					}
				}
				if len(fs) == 0 {
					continue
				}
				enh := &evalNodeHelper{rangeStart: rangeStart, rangeEnd: rangeEnd, rangeMs: rangeMs, annos: &Annotations{}}
				if rng.IntN(2) == 0 {
					enh.pairsKnown, enh.pairs = true, pairCount{resets: resets}
				}
				want := extrapolatedRate(Matrix{{Floats: fs}}, args, enh, k.isCounter, k.isRate)
				got, ok := fr.at(fs, resets, rangeStart, rangeEnd)
				if ok != (len(want) == 1) {
					t.Fatalf("%s round %d step %d: ok=%v, extrapolatedRate gave %d samples for %v", k.name, round, step, ok, len(want), fs)
				}
				if ok && math.Float64bits(got) != math.Float64bits(want[0].F) {
					t.Fatalf("%s round %d step %d: got %v (%x), want %v (%x) for %v", k.name, round, step, got, math.Float64bits(got), want[0].F, math.Float64bits(want[0].F), fs)
				}
			}
		}
	}
}

// TestFloatRateExtendedMatchesExtendedRate is the same check for the
// anchored and smoothed modifiers, whose windows reach past the range.
func TestFloatRateExtendedMatchesExtendedRate(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 3))
	args := parser.Expressions{&parser.NumberLiteral{}}
	for _, k := range []struct{ isCounter, isRate bool }{{true, true}, {true, false}, {false, false}} {
		for _, smoothed := range []bool{false, true} {
			for round := range 5000 {
				rangeMs := int64(1+rng.IntN(20)) * 10_000
				fr := newFloatRate(k.isCounter, k.isRate, rangeMs)
				rangeEnd := int64(1_000_000)
				rangeStart := rangeEnd - rangeMs
				lo, hi := rangeStart-300_000, rangeEnd
				if smoothed {
					hi += 300_000
				}
				var fs []FPoint
				v := rng.Float64() * 100
				// Half the rounds sample on a grid that hits the range's
				// ends exactly.
				grid := round%2 == 0
				tt := lo + 1 + int64(rng.IntN(30_000))
				if grid {
					tt = lo + int64(1+rng.IntN(3))*10_000
				}
				for ; tt <= hi; tt += 1 + int64(rng.IntN(40_000)) {
					if grid {
						tt += 10_000 - 1 - (tt-lo-1)%10_000 + int64(rng.IntN(2))*10_000
						if tt > hi {
							break
						}
					}
					fs = append(fs, FPoint{T: tt, F: v})
					if rng.IntN(6) == 0 {
						v = rng.Float64() * 10
					} else {
						v += rng.Float64() * 5
					}
				}
				if len(fs) == 0 {
					continue
				}
				enh := &evalNodeHelper{rangeStart: rangeStart, rangeEnd: rangeEnd, rangeMs: rangeMs, annos: &Annotations{}, anchored: !smoothed, smoothed: smoothed}
				want := extrapolatedRate(Matrix{{Floats: fs}}, args, enh, k.isCounter, k.isRate)
				got, ok := fr.extended(fs, rangeStart, rangeEnd, smoothed)
				if ok != (len(want) == 1) {
					t.Fatalf("round %d: ok=%v, extrapolatedRate gave %d samples for %v", round, ok, len(want), fs)
				}
				if ok && math.Float64bits(got) != math.Float64bits(want[0].F) {
					t.Fatalf("round %d: got %v, want %v for %v", round, got, want[0].F, fs)
				}
			}
		}
	}
}
