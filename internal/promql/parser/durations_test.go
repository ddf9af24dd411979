package parser

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{in: "0", want: 0},
		{in: "0s", want: 0},
		{in: "1ms", want: time.Millisecond},
		{in: "90s", want: 90 * time.Second},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "1d", want: day},
		{in: "1w", want: 7 * day},
		{in: "1y", want: 365 * day},
		{in: "1y2w3d4h5m6s7ms", want: 365*day + 14*day + 3*day + 4*time.Hour + 5*time.Minute + 6*time.Second + 7*time.Millisecond},
		{in: "", err: "empty duration string"},
		{in: "1", err: `not a valid duration string: "1"`},
		{in: "m", err: `not a valid duration string: "m"`},
		{in: "1m1h", err: `not a valid duration string: "1m1h"`},
		{in: "1s1s", err: `not a valid duration string: "1s1s"`},
		{in: "1.5h", err: `unknown unit "." in duration "1.5h"`},
		{in: "-1s", err: `not a valid duration string: "-1s"`},
		{in: "1us", err: `unknown unit "us" in duration "1us"`},
		{in: "300y", err: "duration out of range"},
		{in: "99999999999999999999s", err: `not a valid duration string: "99999999999999999999s"`},
	} {
		got, err := ParseDuration(tc.in)
		switch {
		case tc.err != "":
			if err == nil || err.Error() != tc.err {
				t.Errorf("ParseDuration(%q) = %v, %v; want error %s", tc.in, got, err, tc.err)
			}
		case err != nil || got != tc.want:
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"},
		{time.Millisecond, "1ms"},
		{time.Microsecond, "0s"}, // Below the resolution.
		{90 * time.Second, "1m30s"},
		{25 * time.Hour, "1d1h"},
		{7 * day, "1w"},
		{8 * day, "8d"},
		{365 * day, "1y"},
		{366 * day, "366d"},
		{730 * day, "2y"},
		{-90 * time.Second, "-1m30s"},
		{1500 * time.Millisecond, "1s500ms"},
	} {
		if got := FormatDuration(tc.d); got != tc.want {
			t.Errorf("FormatDuration(%v) = %s, want %s", tc.d, got, tc.want)
		}
		if tc.d >= 0 && tc.d%time.Millisecond == 0 {
			if back, err := ParseDuration(tc.want); err != nil || back != tc.d {
				t.Errorf("ParseDuration(%s) = %v, %v; want %v", tc.want, back, err, tc.d)
			}
		}
	}
}

func TestDurationExprEval(t *testing.T) {
	for _, tc := range []struct {
		in          string
		step, rng   time.Duration
		want        time.Duration
		errContains string
	}{
		{in: `x[26m+4m]`, want: 30 * time.Minute},
		{in: `x[60*30]`, want: 30 * time.Minute},
		{in: `x[1h/2]`, want: 30 * time.Minute},
		{in: `x[1h30m % 1h]`, want: 30 * time.Minute},
		{in: `x[24m+((1.5*2m)+2m)]`, want: 29 * time.Minute},
		{in: `x[2^3]`, want: 8 * time.Second},
		{in: `x[step()+1ms]`, step: 10 * time.Second, want: 10*time.Second + time.Millisecond},
		{in: `x[1+(step()-5)*2]`, step: 10 * time.Second, want: 11 * time.Second},
		{in: `x[min_of(step()+1,1h)]`, step: 5 * time.Second, want: 6 * time.Second},
		{in: `x[max_of(min_of(step()+1,1h),1ms)]`, step: 2 * time.Hour, want: time.Hour},
		{in: `x[range()]`, rng: 10 * time.Second, want: 10 * time.Second},
		{in: `x[-step()+2m]`, step: time.Minute, want: time.Minute},
		{in: `x[60/(step()-1m)]`, step: time.Minute, errContains: "division by zero"},
		{in: `x[1m % step()]`, errContains: "modulo by zero"},
	} {
		ms := mustParse(t, tc.in).(*MatrixSelector)
		got, err := ms.RangeExpr.Duration(tc.step, tc.rng)
		switch {
		case tc.errContains != "":
			if err == nil || !strings.Contains(err.Error(), tc.errContains) {
				t.Errorf("%s: got %v, %v; want error containing %q", tc.in, got, err, tc.errContains)
			}
		case err != nil || got != tc.want:
			t.Errorf("%s: got %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestResolveDurationsWalksTheTree(t *testing.T) {
	e := mustParse(t, `sum_over_time(rate(x[step()])[range():step()] offset step()) + y offset -step()`)
	if err := ResolveDurations(e, time.Minute, time.Hour); err != nil {
		t.Fatal(err)
	}
	var got []string
	Inspect(e, func(n Node, _ []Node) error {
		switch s := n.(type) {
		case *MatrixSelector:
			got = append(got, "range="+FormatDuration(s.Range))
		case *SubqueryExpr:
			got = append(got, "sq="+FormatDuration(s.Range)+":"+FormatDuration(s.Step)+" offset="+FormatDuration(s.OriginalOffset))
		case *VectorSelector:
			got = append(got, s.Name+" offset="+FormatDuration(s.OriginalOffset))
		}
		return nil
	})
	want := "sq=1h:1m offset=1m range=1m x offset=0s y offset=-1m"
	if strings.Join(got, " ") != want {
		t.Errorf("got %s, want %s", strings.Join(got, " "), want)
	}
	// Printing still shows the expressions.
	if got := e.String(); got != `sum_over_time(rate(x[step()])[range():step()] offset step()) + y offset -step()` {
		t.Errorf("printed %s", got)
	}
}
