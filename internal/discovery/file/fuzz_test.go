package file

import (
	"encoding/json"
	"testing"
)

// FuzzParse checks that no file content panics the parser and that what
// parses survives a JSON round trip unchanged.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`[{"targets":["a:1"],"labels":{"x":"y"}}]`), true)
	f.Add([]byte("- targets: ['a:1']\n  labels: {x: y}\n"), false)
	f.Add([]byte(`[null]`), true)
	f.Fuzz(func(t *testing.T, content []byte, isJSON bool) {
		ext := ".yml"
		if isJSON {
			ext = ".json"
		}
		groups, err := Parse(content, ext)
		if err != nil {
			return
		}
		b, err := json.Marshal(groups)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(b, ".json")
		if err != nil {
			t.Fatalf("re-encoded groups do not parse: %v\n%s", err, b)
		}
		if summary(again) != summary(groups) {
			t.Fatalf("round trip changed groups:\n%s\n---\n%s", summary(groups), summary(again))
		}
	})
}
