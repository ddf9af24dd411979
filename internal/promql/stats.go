package promql

import (
	"context"
	"sync"
	"time"
)

// QueryTimers are the phases of a query's life, measured for the API's
// stats parameter and the query log.
type QueryTimers struct {
	// ExecQueueTime is the time spent waiting for a slot under the
	// concurrency limit.
	ExecQueueTime time.Duration
	// ExecTotalTime covers everything Exec did.
	ExecTotalTime time.Duration
	// EvalTotalTime covers preparation, evaluation and sorting.
	EvalTotalTime time.Duration
	// QueryPreparationTime is opening the querier and selecting series.
	QueryPreparationTime time.Duration
	// InnerEvalTime is the evaluation proper.
	InnerEvalTime time.Duration
	// ResultSortTime is sorting the result of a range query.
	ResultSortTime time.Duration
}

// QuerySamples counts the samples a query touched.
type QuerySamples struct {
	// TotalSamples is the number of samples read from storage (and from
	// subquery results), summed over all steps.
	TotalSamples int64
	// PeakSamples is the highest number of samples held in memory at
	// once, the figure the sample limit applies to.
	PeakSamples int
	// TotalSamplesPerStep holds TotalSamples broken down by step when
	// per-step statistics were requested; nil otherwise.
	TotalSamplesPerStep []int64

	startTimestamp, interval int64
}

func newQuerySamples(perStep bool, start, end, interval int64) *QuerySamples {
	qs := &QuerySamples{startTimestamp: start, interval: interval}
	if perStep {
		if interval <= 0 {
			interval = 1
			qs.interval = 1
		}
		qs.TotalSamplesPerStep = make([]int64, (end-start)/interval+1)
	}
	return qs
}

// child returns a counter for a sub-evaluation whose samples are accounted
// separately (subqueries, step-invariant parts), without per-step detail.
func (qs *QuerySamples) child() *QuerySamples {
	if qs == nil {
		return nil
	}
	return &QuerySamples{startTimestamp: qs.startTimestamp, interval: qs.interval}
}

func (qs *QuerySamples) addAtStep(step int, n int64) {
	if qs == nil {
		return
	}
	qs.TotalSamples += n
	if qs.TotalSamplesPerStep != nil && step >= 0 && step < len(qs.TotalSamplesPerStep) {
		qs.TotalSamplesPerStep[step] += n
	}
}

func (qs *QuerySamples) addAtTimestamp(t int64, n int64) {
	if qs == nil {
		return
	}
	step := -1
	if qs.interval > 0 {
		step = int((t - qs.startTimestamp) / qs.interval)
	}
	qs.addAtStep(step, n)
}

func (qs *QuerySamples) updatePeak(n int) {
	if qs != nil && n > qs.PeakSamples {
		qs.PeakSamples = n
	}
}

// mergeChild takes over the peak of a sub-evaluation.
func (qs *QuerySamples) mergeChildPeak(c *QuerySamples) {
	if qs != nil && c != nil {
		qs.updatePeak(c.PeakSamples)
	}
}

// Statistics are the timings and sample counts of one query.
type Statistics struct {
	Timers  QueryTimers
	Samples *QuerySamples
}

// BuiltinStats is the "stats" object of the HTTP API's query responses,
// with Prometheus' JSON field names; durations are in seconds.
type BuiltinStats struct {
	Timings TimingStats  `json:"timings"`
	Samples *SampleStats `json:"samples,omitempty"`
}

// TimingStats are the timings of BuiltinStats.
type TimingStats struct {
	EvalTotalTime        float64 `json:"evalTotalTime"`
	ResultSortTime       float64 `json:"resultSortTime"`
	QueryPreparationTime float64 `json:"queryPreparationTime"`
	InnerEvalTime        float64 `json:"innerEvalTime"`
	ExecQueueTime        float64 `json:"execQueueTime"`
	ExecTotalTime        float64 `json:"execTotalTime"`
}

// SampleStats are the sample counts of BuiltinStats.
type SampleStats struct {
	TotalQueryableSamplesPerStep []StepStat `json:"totalQueryableSamplesPerStep,omitempty"`
	TotalQueryableSamples        int64      `json:"totalQueryableSamples"`
	PeakSamples                  int        `json:"peakSamples"`
}

// StepStat is the sample count of one step, marshalled as [seconds, count]
// like a sample pair.
type StepStat struct {
	T int64 // Milliseconds.
	V int64
}

// MarshalJSON renders the pair as [t, v] with t in seconds.
func (s StepStat) MarshalJSON() ([]byte, error) {
	buf := make([]byte, 0, 32)
	buf = append(buf, '[')
	buf = appendSeconds(buf, s.T)
	buf = append(buf, ',')
	buf = appendInt(buf, s.V)
	buf = append(buf, ']')
	return buf, nil
}

func appendInt(b []byte, v int64) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	var tmp [20]byte
	i := len(tmp)
	for {
		i--
		tmp[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return append(b, tmp[i:]...)
}

// appendSeconds writes milliseconds as seconds with up to three decimals.
func appendSeconds(b []byte, ms int64) []byte {
	if ms < 0 {
		b = append(b, '-')
		ms = -ms
	}
	b = appendInt(b, ms/1000)
	if frac := ms % 1000; frac != 0 {
		b = append(b, '.')
		digits := []byte{byte('0' + frac/100), byte('0' + frac/10%10), byte('0' + frac%10)}
		for len(digits) > 0 && digits[len(digits)-1] == '0' {
			digits = digits[:len(digits)-1]
		}
		b = append(b, digits...)
	}
	return b
}

// Builtin returns the statistics in the shape of the API's stats object;
// withSteps adds the per-step sample counts when they were recorded.
func (s *Statistics) Builtin(withSteps bool) BuiltinStats {
	out := BuiltinStats{Timings: TimingStats{
		EvalTotalTime:        s.Timers.EvalTotalTime.Seconds(),
		ResultSortTime:       s.Timers.ResultSortTime.Seconds(),
		QueryPreparationTime: s.Timers.QueryPreparationTime.Seconds(),
		InnerEvalTime:        s.Timers.InnerEvalTime.Seconds(),
		ExecQueueTime:        s.Timers.ExecQueueTime.Seconds(),
		ExecTotalTime:        s.Timers.ExecTotalTime.Seconds(),
	}}
	if s.Samples != nil {
		ss := &SampleStats{TotalQueryableSamples: s.Samples.TotalSamples, PeakSamples: s.Samples.PeakSamples}
		if withSteps && s.Samples.TotalSamplesPerStep != nil {
			ss.TotalQueryableSamplesPerStep = make([]StepStat, len(s.Samples.TotalSamplesPerStep))
			for i, n := range s.Samples.TotalSamplesPerStep {
				ss.TotalQueryableSamplesPerStep[i] = StepStat{T: s.Samples.startTimestamp + int64(i)*s.Samples.interval, V: n}
			}
		}
		out.Samples = ss
	}
	return out
}

// phaseTimer measures one phase into a QueryTimers field.
type phaseTimer struct {
	start time.Time
	dst   *time.Duration
}

func startTimer(dst *time.Duration) phaseTimer { return phaseTimer{start: time.Now(), dst: dst} }

func (t phaseTimer) stop() { *t.dst += time.Since(t.start) }

// QueryTracker tracks running queries and bounds how many run at once.
// Implementations may record queries durably, so that the queries running
// when the process crashed can be logged at the next start.
type QueryTracker interface {
	// GetMaxConcurrent returns the concurrency limit.
	GetMaxConcurrent() int
	// Insert registers a query, blocking while the limit is reached. It
	// returns an index for Delete, or the context's error.
	Insert(ctx context.Context, query string) (int, error)
	// Delete unregisters the query Insert returned index for.
	Delete(index int)
	// Close releases the tracker's resources.
	Close() error
}

// concurrencyLimiter is the in-memory QueryTracker the engine uses when
// EngineOpts.MaxConcurrency is set without a tracker.
type concurrencyLimiter struct {
	slots chan struct{}
	mu    sync.Mutex
	next  int
	live  map[int]string
}

// NewConcurrencyLimiter returns a QueryTracker that lets at most max
// queries run at once and keeps no record beyond the process.
func NewConcurrencyLimiter(max int) QueryTracker {
	if max < 1 {
		max = 1
	}
	return &concurrencyLimiter{slots: make(chan struct{}, max), live: map[int]string{}}
}

func (l *concurrencyLimiter) GetMaxConcurrent() int { return cap(l.slots) }

func (l *concurrencyLimiter) Insert(ctx context.Context, query string) (int, error) {
	select {
	case l.slots <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.next++
	l.live[l.next] = query
	return l.next, nil
}

func (l *concurrencyLimiter) Delete(index int) {
	l.mu.Lock()
	_, ok := l.live[index]
	delete(l.live, index)
	l.mu.Unlock()
	if ok {
		<-l.slots
	}
}

func (l *concurrencyLimiter) Close() error { return nil }
