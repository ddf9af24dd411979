package storage

// FloatRunIterator is an Iterator that decodes float samples in bulk and
// lets a reader take them as slices, instead of calling Next and At for
// every sample. Readers must keep the generic path for iterators that do
// not implement it.
type FloatRunIterator interface {
	Iterator
	// FloatRun returns the samples from the current one to the end of
	// the decoded run when the iterator stands on a float sample of one,
	// and empty slices otherwise. The slices are read-only and valid
	// until the iterator next moves.
	FloatRun() (ts []int64, vs []float64)
	// SkipFloats moves n samples ahead within the run FloatRun returned;
	// n must be less than its length, so the iterator stays on a float
	// sample of the run.
	SkipFloats(n int)
}

// LatestFloatSeries is a Series that can return its newest sample at or
// before a time without walking the samples before it: the TSDB head
// keeps the newest sample of every series, which is what an instant
// selector at the current time reads. Readers must keep the iterator
// path for series that do not implement it, and for calls that report
// ok false.
type LatestFloatSeries interface {
	Series
	// LatestFloat reports, with ok true, that the newest sample of the
	// series at or before maxt (among those its Iterator would return)
	// is the float f at t. With ok false it tells nothing: the sample
	// may be a histogram, or finding it would take a read of the
	// samples.
	LatestFloat(maxt int64) (t int64, f float64, ok bool)
}
