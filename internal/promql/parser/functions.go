package parser

// Function describes a PromQL function for type checking: its argument and
// return types and how many optional arguments it takes.
type Function struct {
	Name string
	// ArgTypes are the argument types in order. For a variadic function
	// the last entry is the type of every optional argument.
	ArgTypes []ValueType
	// Variadic is 0 for a fixed argument count; n > 0 when the last
	// argument may be omitted or repeated up to n times in total
	// (len(ArgTypes)-1 to len(ArgTypes)-1+n arguments); -1 for any number
	// of repetitions (at least len(ArgTypes)-1 arguments).
	Variadic   int
	ReturnType ValueType
	// Experimental functions parse only with
	// Options.EnableExperimentalFunctions.
	Experimental bool
}

// Shorthands that keep the table below readable.
const (
	tVec = ValueTypeVector
	tMat = ValueTypeMatrix
	tSca = ValueTypeScalar
	tStr = ValueTypeString
)

// fn builds a Function entry.
func fn(name string, ret ValueType, variadic int, experimental bool, args ...ValueType) *Function {
	if args == nil {
		args = []ValueType{}
	}
	return &Function{Name: name, ArgTypes: args, Variadic: variadic, ReturnType: ret, Experimental: experimental}
}

// Functions lists every function of Prometheus 3.x PromQL by name, the
// experimental ones included. holt_winters is gone since 3.0; its successor
// is double_exponential_smoothing. Engines look up the implementation by
// Function.Name.
var Functions = map[string]*Function{}

func init() {
	for _, f := range []*Function{
		fn("abs", tVec, 0, false, tVec),
		fn("absent", tVec, 0, false, tVec),
		fn("absent_over_time", tVec, 0, false, tMat),
		fn("acos", tVec, 0, false, tVec),
		fn("acosh", tVec, 0, false, tVec),
		fn("asin", tVec, 0, false, tVec),
		fn("asinh", tVec, 0, false, tVec),
		fn("atan", tVec, 0, false, tVec),
		fn("atanh", tVec, 0, false, tVec),
		fn("avg_over_time", tVec, 0, false, tMat),
		fn("ceil", tVec, 0, false, tVec),
		fn("changes", tVec, 0, false, tMat),
		fn("clamp", tVec, 0, false, tVec, tSca, tSca),
		fn("clamp_max", tVec, 0, false, tVec, tSca),
		fn("clamp_min", tVec, 0, false, tVec, tSca),
		fn("cos", tVec, 0, false, tVec),
		fn("cosh", tVec, 0, false, tVec),
		fn("count_over_time", tVec, 0, false, tMat),
		fn("days_in_month", tVec, 1, false, tVec),
		fn("day_of_month", tVec, 1, false, tVec),
		fn("day_of_week", tVec, 1, false, tVec),
		fn("day_of_year", tVec, 1, false, tVec),
		fn("deg", tVec, 0, false, tVec),
		fn("delta", tVec, 0, false, tMat),
		fn("deriv", tVec, 0, false, tMat),
		fn("double_exponential_smoothing", tVec, 0, true, tMat, tSca, tSca),
		fn("end", tSca, 0, true),
		fn("exp", tVec, 0, false, tVec),
		fn("first_over_time", tVec, 0, false, tMat),
		fn("floor", tVec, 0, false, tVec),
		fn("histogram_avg", tVec, 0, false, tVec),
		fn("histogram_count", tVec, 0, false, tVec),
		fn("histogram_fraction", tVec, 0, false, tSca, tSca, tVec),
		fn("histogram_quantile", tVec, 0, false, tSca, tVec),
		fn("histogram_quantiles", tVec, -1, true, tVec, tStr, tSca),
		fn("histogram_stddev", tVec, 0, false, tVec),
		fn("histogram_stdvar", tVec, 0, false, tVec),
		fn("histogram_sum", tVec, 0, false, tVec),
		fn("hour", tVec, 1, false, tVec),
		fn("idelta", tVec, 0, false, tMat),
		fn("increase", tVec, 0, false, tMat),
		fn("info", tVec, 1, true, tVec, tVec),
		fn("irate", tVec, 0, false, tMat),
		fn("label_join", tVec, -1, false, tVec, tStr, tStr, tStr),
		fn("label_replace", tVec, 0, false, tVec, tStr, tStr, tStr, tStr),
		fn("last_over_time", tVec, 0, false, tMat),
		fn("ln", tVec, 0, false, tVec),
		fn("log10", tVec, 0, false, tVec),
		fn("log2", tVec, 0, false, tVec),
		fn("mad_over_time", tVec, 0, true, tMat),
		fn("max_of", tSca, 0, true, tSca, tSca),
		fn("max_over_time", tVec, 0, false, tMat),
		fn("min_of", tSca, 0, true, tSca, tSca),
		fn("min_over_time", tVec, 0, false, tMat),
		fn("minute", tVec, 1, false, tVec),
		fn("month", tVec, 1, false, tVec),
		fn("pi", tSca, 0, false),
		fn("predict_linear", tVec, 0, false, tMat, tSca),
		fn("present_over_time", tVec, 0, false, tMat),
		fn("quantile_over_time", tVec, 0, false, tSca, tMat),
		fn("rad", tVec, 0, false, tVec),
		fn("range", tSca, 0, true),
		fn("rate", tVec, 0, false, tMat),
		fn("resets", tVec, 0, false, tMat),
		fn("round", tVec, 1, false, tVec, tSca),
		fn("scalar", tSca, 0, false, tVec),
		fn("sgn", tVec, 0, false, tVec),
		fn("sin", tVec, 0, false, tVec),
		fn("sinh", tVec, 0, false, tVec),
		fn("sort", tVec, 0, false, tVec),
		fn("sort_by_label", tVec, -1, true, tVec, tStr),
		fn("sort_by_label_desc", tVec, -1, true, tVec, tStr),
		fn("sort_desc", tVec, 0, false, tVec),
		fn("sqrt", tVec, 0, false, tVec),
		fn("start", tSca, 0, true),
		fn("start_timestamp", tVec, 0, true, tVec),
		fn("step", tSca, 0, true),
		fn("stddev_over_time", tVec, 0, false, tMat),
		fn("stdvar_over_time", tVec, 0, false, tMat),
		fn("sum_over_time", tVec, 0, false, tMat),
		fn("tan", tVec, 0, false, tVec),
		fn("tanh", tVec, 0, false, tVec),
		fn("time", tSca, 0, false),
		fn("timestamp", tVec, 0, false, tVec),
		fn("ts_of_first_over_time", tVec, 0, true, tMat),
		fn("ts_of_last_over_time", tVec, 0, true, tMat),
		fn("ts_of_max_over_time", tVec, 0, true, tMat),
		fn("ts_of_min_over_time", tVec, 0, true, tMat),
		fn("vector", tVec, 0, false, tSca),
		fn("year", tVec, 1, false, tVec),
	} {
		Functions[f.Name] = f
	}
}

// preprocessorFuncs are the zero-argument functions whose names the lexer
// treats as words (start and end are keywords, step and range ordinary
// identifiers). Like keywords they match in any case: STEP() is step().
var preprocessorFuncs = map[string]string{"start": "start", "end": "end", "step": "step", "range": "range"}
