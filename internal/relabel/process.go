package relabel

import (
	"crypto/md5"
	"encoding/binary"
	"strconv"
	"strings"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// Process applies the rules in order to ls. It returns the relabeled set
// and whether it is kept; once a rule drops the set, later rules do not
// run and the returned set is meaningless.
func Process(ls labels.Labels, cfgs ...*Config) (labels.Labels, bool) {
	lb := labels.NewBuilder(ls)
	if !ProcessBuilder(lb, cfgs...) {
		return labels.EmptyLabels(), false
	}
	return lb.Labels(), true
}

// ProcessBuilder applies the rules in order to the builder's current set,
// editing it in place, and reports whether the set is kept. It is the hot
// path for callers that reuse one builder per target or series.
func ProcessBuilder(lb *labels.Builder, cfgs ...*Config) bool {
	for _, cfg := range cfgs {
		if !apply(cfg, lb) {
			return false
		}
	}
	return true
}

// sourceValue joins the values of the source labels with the separator.
// One or two source labels, by far the common case, need no join buffer.
func sourceValue(cfg *Config, lb *labels.Builder) string {
	switch len(cfg.SourceLabels) {
	case 0:
		return ""
	case 1:
		return lb.Get(cfg.SourceLabels[0])
	}
	var sb strings.Builder
	for i, n := range cfg.SourceLabels {
		if i > 0 {
			sb.WriteString(cfg.Separator)
		}
		sb.WriteString(lb.Get(n))
	}
	return sb.String()
}

func apply(cfg *Config, lb *labels.Builder) bool {
	val := sourceValue(cfg, lb)
	switch cfg.Action {
	case Drop:
		return !cfg.Regex.MatchString(val)
	case Keep:
		return cfg.Regex.MatchString(val)
	case DropEqual:
		return lb.Get(cfg.TargetLabel) != val
	case KeepEqual:
		return lb.Get(cfg.TargetLabel) == val
	case Replace:
		replace(cfg, lb, val)
	case Lowercase:
		lb.Set(cfg.TargetLabel, strings.ToLower(val))
	case Uppercase:
		lb.Set(cfg.TargetLabel, strings.ToUpper(val))
	case HashMod:
		// Prometheus' sharding function: the low 8 bytes of the MD5 of the
		// value, big-endian, modulo the modulus. Matching it exactly keeps
		// shard assignments identical when moving from Prometheus.
		sum := md5.Sum([]byte(val))
		lb.Set(cfg.TargetLabel, strconv.FormatUint(binary.BigEndian.Uint64(sum[8:])%cfg.Modulus, 10))
	case LabelMap, LabelDrop, LabelKeep:
		byName(cfg, lb)
	default:
		// Validate rejects unknown actions; a hand-built rule with a typo
		// must not silently pass everything.
		panic("relabel: unknown action " + strconv.Quote(string(cfg.Action)))
	}
	return true
}

// replace writes the expansion of Replacement into the label named by the
// expansion of TargetLabel when the regex matches. An empty result deletes
// the label; a target that is not a valid name after expansion leaves the
// set unchanged.
func replace(cfg *Config, lb *labels.Builder, val string) {
	re := cfg.Regex.re
	// Without references the regex result is not needed. With the default
	// "(.*)" any value matches, so this is also exact when val is "".
	if cfg.Regex.IsZero() && !hasTemplateVar(cfg.TargetLabel) && !hasTemplateVar(cfg.Replacement) {
		lb.Set(cfg.TargetLabel, cfg.Replacement)
		return
	}
	idx := re.FindStringSubmatchIndex(val)
	if idx == nil {
		return
	}
	var buf [64]byte
	target := cfg.TargetLabel
	if hasTemplateVar(target) {
		target = string(re.ExpandString(buf[:0], target, val, idx))
	}
	if !cfg.NameValidationScheme.IsValidLabelName(target) {
		return
	}
	res := re.ExpandString(buf[:0], cfg.Replacement, val, idx)
	if len(res) == 0 {
		lb.Del(target)
		return
	}
	lb.Set(target, string(res))
}

// byName runs the actions that look at label names. The builder cannot be
// edited while it is ranged over, so the current labels are copied first;
// each label is then judged on its name as it was before the rule ran.
func byName(cfg *Config, lb *labels.Builder) {
	var stack [32]labels.Label
	cur := stack[:0]
	lb.Range(func(l labels.Label) { cur = append(cur, l) })
	for _, l := range cur {
		match := cfg.Regex.MatchString(l.Name)
		switch cfg.Action {
		case LabelDrop:
			if match {
				lb.Del(l.Name)
			}
		case LabelKeep:
			if !match {
				lb.Del(l.Name)
			}
		case LabelMap:
			if !match {
				continue
			}
			name := cfg.Regex.re.ReplaceAllString(l.Name, cfg.Replacement)
			// An empty name cannot be stored; Prometheus would create a
			// label no later stage accepts.
			if name != "" {
				lb.Set(name, l.Value)
			}
		}
	}
}
