// Package relabel owns relabeling: the relabel_configs /
// metric_relabel_configs / write_relabel_configs / alert_relabel_configs
// rule type with its YAML form, defaults and validation, and the functions
// that apply a list of rules to a label set (Process, ProcessBuilder).
//
// The semantics are Prometheus': a rule joins the values of source_labels
// with separator, matches the fully anchored regex against the result and,
// depending on the action, rewrites, keeps or drops. Error texts match
// Prometheus word for word because users grep for them and the conformance
// corpus checks them.
package relabel

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// Action is what a rule does once its source value is computed.
type Action string

// The actions Prometheus knows. YAML accepts them in any letter case.
const (
	Replace   Action = "replace"
	Keep      Action = "keep"
	Drop      Action = "drop"
	KeepEqual Action = "keepequal"
	DropEqual Action = "dropequal"
	HashMod   Action = "hashmod"
	LabelMap  Action = "labelmap"
	LabelDrop Action = "labeldrop"
	LabelKeep Action = "labelkeep"
	Lowercase Action = "lowercase"
	Uppercase Action = "uppercase"
)

func (a Action) known() bool {
	switch a {
	case Replace, Keep, Drop, KeepEqual, DropEqual, HashMod, LabelMap, LabelDrop, LabelKeep, Lowercase, Uppercase:
		return true
	}
	return false
}

// UnmarshalYAML accepts an action name in any case.
func (a *Action) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	act := Action(strings.ToLower(s))
	if !act.known() {
		return fmt.Errorf("unknown relabel action %q", s)
	}
	*a = act
	return nil
}

// Regexp is a relabel regular expression: RE2 syntax, anchored at both
// ends, with "." matching newlines (Prometheus wraps it as ^(?s:…)$).
// The zero value has no expression; UnmarshalYAML turns an explicit null
// into the expression "" (which matches only the empty string), as
// Prometheus does.
type Regexp struct {
	re *regexp.Regexp
	// fast answers MatchString with string operations where the shape of
	// the expression allows; nil when labels' matcher rejects the source
	// (it parses the bare expression, Prometheus only the wrapped one).
	fast *labels.FastRegexMatcher
	src  string
}

// NewRegexp compiles s anchored at both ends.
func NewRegexp(s string) (Regexp, error) {
	re, err := regexp.Compile("^(?s:" + s + ")$")
	if err != nil {
		return Regexp{}, err
	}
	r := Regexp{re: re, src: s}
	if m, err := labels.NewFastRegexMatcher(s); err == nil {
		r.fast = m
	}
	return r, nil
}

// MustNewRegexp is NewRegexp for expressions known to be valid.
func MustNewRegexp(s string) Regexp {
	r, err := NewRegexp(s)
	if err != nil {
		panic(err)
	}
	return r
}

// MatchString reports whether the whole of s matches.
func (r Regexp) MatchString(s string) bool {
	if r.fast != nil {
		return r.fast.MatchString(s)
	}
	return r.re.MatchString(s)
}

// String returns the expression as written, without the anchoring.
func (r Regexp) String() string { return r.src }

// Regexp returns the compiled, anchored expression (nil for the zero value).
func (r Regexp) Regexp() *regexp.Regexp { return r.re }

// IsZero reports whether r is the default expression, so that printing a
// configuration leaves the default out, as Prometheus does. It compares
// identity, not text: an explicitly written "(.*)" is not the default.
func (r Regexp) IsZero() bool { return r.re == DefaultConfig.Regex.re }

// UnmarshalYAML compiles the scalar.
func (r *Regexp) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	nr, err := NewRegexp(s)
	if err != nil {
		return err
	}
	*r = nr
	return nil
}

// MarshalYAML prints the expression as written.
func (r Regexp) MarshalYAML() (any, error) {
	if r.re == nil {
		return nil, nil
	}
	return r.src, nil
}

// UnmarshalJSON compiles the JSON string.
func (r *Regexp) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	nr, err := NewRegexp(s)
	if err != nil {
		return err
	}
	*r = nr
	return nil
}

// MarshalJSON prints the expression as a JSON string.
func (r Regexp) MarshalJSON() ([]byte, error) { return json.Marshal(r.src) }

// Config is one relabeling rule.
type Config struct {
	// SourceLabels are the labels whose values, joined by Separator, form
	// the value the rule works on. A missing label contributes "".
	SourceLabels []string `yaml:"source_labels,flow,omitempty" json:"source_labels,omitempty"`
	Separator    string   `yaml:"separator" json:"separator"`
	Regex        Regexp   `yaml:"regex,omitempty" json:"regex,omitempty"`
	Modulus      uint64   `yaml:"modulus,omitempty" json:"modulus,omitempty"`
	// TargetLabel may reference regex groups ($1, ${name}) for replace.
	TargetLabel string `yaml:"target_label,omitempty" json:"target_label,omitempty"`
	Replacement string `yaml:"replacement" json:"replacement"`
	Action      Action `yaml:"action,omitempty" json:"action,omitempty"`

	// NameValidationScheme decides which label names replace and labelmap
	// may produce. Validate sets it from the enclosing configuration; a
	// rule built by hand from DefaultConfig uses UTF-8 names.
	NameValidationScheme labels.ValidationScheme `yaml:"-" json:"-"`
}

// DefaultConfig holds the defaults every rule starts from: separator ";",
// regex "(.*)", replacement "$1", action replace.
var DefaultConfig = Config{
	Action:               Replace,
	Separator:            ";",
	Regex:                MustNewRegexp("(.*)"),
	Replacement:          "$1",
	NameValidationScheme: labels.UTF8Validation,
}

// UnmarshalYAML applies the defaults, then the YAML. Validation needs the
// configuration's name validation scheme, so the enclosing configuration
// calls Validate once it knows it.
func (c *Config) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultConfig
	type plain Config
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	for _, n := range c.SourceLabels {
		// Prometheus decodes source_labels as label names, which must be
		// valid UTF-8 whatever the validation scheme.
		if !labels.IsValidUTF8Name(n) {
			return fmt.Errorf("%q is not a valid label name", n)
		}
	}
	if c.Regex.re == nil {
		// "regex:" with no value: YAML null leaves the zero value, and
		// Prometheus reads that as the empty expression.
		c.Regex = MustNewRegexp("")
	}
	return nil
}

// legacyTargetWithVars is the shape a target_label (or labelmap
// replacement) with $-references must have under legacy names: legacy name
// characters mixed with $name or ${name} references.
var legacyTargetWithVars = regexp.MustCompile(`^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$`)

func hasTemplateVar(s string) bool { return strings.Contains(s, "$") }

// Validate checks the rule the way Prometheus does and records scheme as
// the rule's name validation scheme.
func (c *Config) Validate(scheme labels.ValidationScheme) error {
	c.NameValidationScheme = scheme
	if c.Action == "" {
		return errors.New("relabel action cannot be empty")
	}
	if !c.Action.known() {
		return fmt.Errorf("unknown relabel action %q", c.Action)
	}
	if c.Action == HashMod && c.Modulus == 0 {
		return errors.New("relabel configuration for hashmod requires non-zero modulus")
	}
	needsTarget := c.Action == Replace || c.Action == HashMod || c.Action == Lowercase ||
		c.Action == Uppercase || c.Action == KeepEqual || c.Action == DropEqual
	if needsTarget && c.TargetLabel == "" {
		return fmt.Errorf("relabel configuration for %s action requires 'target_label' value", c.Action)
	}
	// A name that may contain $-references is checked for shape only; the
	// expanded name is checked again when the rule runs.
	validWithVars := func(s string) bool {
		if scheme == labels.UTF8Validation {
			return scheme.IsValidLabelName(s)
		}
		return legacyTargetWithVars.MatchString(s)
	}
	invalidTarget := fmt.Errorf("%q is invalid 'target_label' for %s action", c.TargetLabel, c.Action)
	switch c.Action {
	case Replace:
		if hasTemplateVar(c.TargetLabel) {
			if !validWithVars(c.TargetLabel) {
				return invalidTarget
			}
		} else if !scheme.IsValidLabelName(c.TargetLabel) {
			return invalidTarget
		}
	case Lowercase, Uppercase, KeepEqual, DropEqual:
		if !scheme.IsValidLabelName(c.TargetLabel) {
			return invalidTarget
		}
		if c.Replacement != DefaultConfig.Replacement {
			return fmt.Errorf("'replacement' can not be set for %s action", c.Action)
		}
	case LabelMap:
		if !validWithVars(c.Replacement) {
			return fmt.Errorf("%q is invalid 'replacement' for %s action", c.Replacement, c.Action)
		}
	case HashMod:
		if !scheme.IsValidLabelName(c.TargetLabel) {
			return invalidTarget
		}
	}
	switch c.Action {
	case KeepEqual, DropEqual:
		if !c.Regex.IsZero() || c.Modulus != DefaultConfig.Modulus ||
			c.Separator != DefaultConfig.Separator || c.Replacement != DefaultConfig.Replacement {
			return fmt.Errorf("%s action requires only 'source_labels' and `target_label`, and no other fields", c.Action)
		}
	case LabelDrop, LabelKeep:
		if c.SourceLabels != nil || c.TargetLabel != DefaultConfig.TargetLabel ||
			c.Modulus != DefaultConfig.Modulus || c.Separator != DefaultConfig.Separator ||
			c.Replacement != DefaultConfig.Replacement {
			return fmt.Errorf("%s action requires only 'regex', and no other fields", c.Action)
		}
	}
	return nil
}
