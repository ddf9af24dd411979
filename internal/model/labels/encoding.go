package labels

import "encoding/json"

// MarshalJSON encodes the set as a JSON object of names to values, the
// shape the HTTP API and alert payloads use.
func (ls Labels) MarshalJSON() ([]byte, error) {
	return json.Marshal(ls.Map())
}

// UnmarshalJSON decodes a JSON object of names to values.
func (ls *Labels) UnmarshalJSON(b []byte) error {
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*ls = FromMap(m)
	return nil
}

// MarshalYAML encodes the set as a YAML mapping. It satisfies the yaml
// packages' Marshaler interface structurally, so this package needs no YAML
// dependency.
func (ls Labels) MarshalYAML() (interface{}, error) {
	return ls.Map(), nil
}

// UnmarshalYAML decodes a YAML mapping of names to values, using the
// unmarshal-function form of the yaml packages' Unmarshaler interface.
func (ls *Labels) UnmarshalYAML(unmarshal func(interface{}) error) error {
	var m map[string]string
	if err := unmarshal(&m); err != nil {
		return err
	}
	*ls = FromMap(m)
	return nil
}
