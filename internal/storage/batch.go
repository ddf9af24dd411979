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
