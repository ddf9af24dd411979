package discovery

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// AddressLabel is the label holding a target's host:port.
const AddressLabel = "__address__"

// TargetGroup is a set of targets sharing labels and a source.
//
// Representation: each target is a labels.Labels (at least __address__,
// plus the mechanism's per-target __meta_ labels), and Labels holds the
// labels common to every target of the group. Using the compact labels
// encoding rather than maps keeps large discovered fleets cheap and lets
// the scrape layer merge group and target labels with one builder. A
// target's own labels win over the group's when they share a name.
//
// Source identifies the group within its discoverer (a file name with an
// index, a DNS name, a URL with an index); a later group with the same
// Source replaces the earlier one, and one with no targets removes it.
//
// Groups handed out by a Discoverer or the Manager are shared and must not
// be modified.
type TargetGroup struct {
	Targets []labels.Labels
	Labels  labels.Labels
	Source  string
}

// String returns the source.
func (tg TargetGroup) String() string { return tg.Source }

// targetGroupWire is the file_sd / http_sd / static_configs form of a
// group: {targets: ["host:port", …], labels: {name: value, …}}.
type targetGroupWire struct {
	Targets []string          `yaml:"targets" json:"targets"`
	Labels  map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
}

// fromWire converts the wire form, checking label names. Names must be
// valid UTF-8: that is what Prometheus checks when it decodes a label
// set, whatever the metric name validation scheme.
func (tg *TargetGroup) fromWire(w targetGroupWire) error {
	for name := range w.Labels {
		if !labels.IsValidUTF8Name(name) {
			return fmt.Errorf("%q is not a valid label name", name)
		}
	}
	for _, v := range w.Labels {
		if !utf8.ValidString(v) {
			return fmt.Errorf("%q is not a valid label value", v)
		}
	}
	tg.Targets = make([]labels.Labels, 0, len(w.Targets))
	for _, t := range w.Targets {
		if !utf8.ValidString(t) {
			return fmt.Errorf("%q is not a valid label value", t)
		}
		tg.Targets = append(tg.Targets, labels.FromStrings(AddressLabel, t))
	}
	tg.Labels = labels.FromMap(w.Labels)
	return nil
}

func (tg TargetGroup) toWire() targetGroupWire {
	w := targetGroupWire{Targets: make([]string, 0, len(tg.Targets))}
	for _, t := range tg.Targets {
		w.Targets = append(w.Targets, t.Get(AddressLabel))
	}
	if !tg.Labels.IsEmpty() {
		w.Labels = tg.Labels.Map()
	}
	return w
}

// UnmarshalYAML decodes the wire form.
func (tg *TargetGroup) UnmarshalYAML(unmarshal func(any) error) error {
	var w targetGroupWire
	if err := unmarshal(&w); err != nil {
		return err
	}
	return tg.fromWire(w)
}

// MarshalYAML encodes the wire form.
func (tg TargetGroup) MarshalYAML() (any, error) { return tg.toWire(), nil }

// UnmarshalJSON decodes the wire form, rejecting unknown fields as
// Prometheus does.
func (tg *TargetGroup) UnmarshalJSON(b []byte) error {
	var w targetGroupWire
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return err
	}
	return tg.fromWire(w)
}

// MarshalJSON encodes the wire form.
func (tg TargetGroup) MarshalJSON() ([]byte, error) { return json.Marshal(tg.toWire()) }
