package labels

import "unicode/utf8"

// ValidationScheme selects which label and metric names are acceptable.
type ValidationScheme int

const (
	// LegacyValidation accepts only the classic Prometheus character sets:
	// [a-zA-Z_:][a-zA-Z0-9_:]* for metric names and [a-zA-Z_][a-zA-Z0-9_]*
	// for label names.
	LegacyValidation ValidationScheme = iota
	// UTF8Validation accepts any non-empty valid UTF-8 name.
	UTF8Validation
)

// String returns the scheme's configuration spelling.
func (s ValidationScheme) String() string {
	switch s {
	case LegacyValidation:
		return "legacy"
	case UTF8Validation:
		return "utf8"
	}
	return "unknown"
}

// IsValidMetricName reports whether s is a valid metric name under the scheme.
func (s ValidationScheme) IsValidMetricName(n string) bool {
	if s == LegacyValidation {
		return IsValidLegacyMetricName(n)
	}
	return IsValidUTF8Name(n)
}

// IsValidLabelName reports whether s is a valid label name under the scheme.
func (s ValidationScheme) IsValidLabelName(n string) bool {
	if s == LegacyValidation {
		return IsValidLegacyLabelName(n)
	}
	return IsValidUTF8Name(n)
}

// IsValidLegacyMetricName reports whether s matches [a-zA-Z_:][a-zA-Z0-9_:]*.
func IsValidLegacyMetricName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c == ':' || (c|0x20 >= 'a' && c|0x20 <= 'z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}

// IsValidLegacyLabelName reports whether s matches [a-zA-Z_][a-zA-Z0-9_]*.
func IsValidLegacyLabelName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return false
	}
	return true
}

// IsValidUTF8Name reports whether s is a non-empty valid UTF-8 string, the
// only requirement UTF-8 validation puts on metric and label names.
func IsValidUTF8Name(s string) bool { return s != "" && utf8.ValidString(s) }

// IsValid reports whether every name in the set is valid under the scheme
// (the __name__ value is checked as a metric name) and every value is valid
// UTF-8.
func (ls Labels) IsValid(scheme ValidationScheme) bool {
	for i := 0; i < len(ls.data); {
		var l Label
		l.Name, i = decodeString(ls.data, i)
		l.Value, i = decodeString(ls.data, i)
		if l.Name == MetricName {
			if !scheme.IsValidMetricName(l.Value) {
				return false
			}
			continue
		}
		if !scheme.IsValidLabelName(l.Name) || !utf8.ValidString(l.Value) {
			return false
		}
	}
	return true
}
