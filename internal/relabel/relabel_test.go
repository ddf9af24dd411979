package relabel

import (
	"crypto/md5"
	"encoding/binary"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v2"

	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// parse decodes and validates one rule written in YAML.
func parse(t *testing.T, scheme labels.ValidationScheme, src string) *Config {
	t.Helper()
	var c Config
	if err := yaml.UnmarshalStrict([]byte(src), &c); err != nil {
		t.Fatalf("unmarshal %q: %v", src, err)
	}
	if err := c.Validate(scheme); err != nil {
		t.Fatalf("validate %q: %v", src, err)
	}
	return &c
}

func TestProcess(t *testing.T) {
	hash := func(s string, mod uint64) string {
		sum := md5.Sum([]byte(s))
		return strconv.FormatUint(binary.BigEndian.Uint64(sum[8:])%mod, 10)
	}
	cases := []struct {
		name   string
		in     labels.Labels
		rules  []string
		legacy bool
		want   labels.Labels
		drop   bool
	}{
		{
			name:  "replace with defaults copies the source",
			in:    labels.FromStrings("a", "foo"),
			rules: []string{"{source_labels: [a], target_label: b}"},
			want:  labels.FromStrings("a", "foo", "b", "foo"),
		},
		{
			name:  "replace joins sources with the separator",
			in:    labels.FromStrings("a", "foo", "b", "bar"),
			rules: []string{"{source_labels: [a, missing, b], target_label: c}"},
			want:  labels.FromStrings("a", "foo", "b", "bar", "c", "foo;;bar"),
		},
		{
			name:  "replace with groups",
			in:    labels.FromStrings("a", "foo-bar"),
			rules: []string{`{source_labels: [a], regex: "(.*)-(.*)", target_label: "${2}_x", replacement: "$1.$2"}`},
			want:  labels.FromStrings("a", "foo-bar", "bar_x", "foo.bar"),
		},
		{
			name:  "replace regex is anchored",
			in:    labels.FromStrings("a", "xfoox"),
			rules: []string{`{source_labels: [a], regex: "foo", target_label: b, replacement: hit}`},
			want:  labels.FromStrings("a", "xfoox"),
		},
		{
			name:  "replace dot matches newline",
			in:    labels.FromStrings("a", "x\ny"),
			rules: []string{`{source_labels: [a], regex: "x.y", target_label: b, replacement: hit}`},
			want:  labels.FromStrings("a", "x\ny", "b", "hit"),
		},
		{
			name:  "replace not matching leaves the set",
			in:    labels.FromStrings("a", "foo"),
			rules: []string{`{source_labels: [a], regex: "bar", target_label: a, replacement: x}`},
			want:  labels.FromStrings("a", "foo"),
		},
		{
			name:  "replace with empty result deletes the target",
			in:    labels.FromStrings("a", "foo", "b", "old"),
			rules: []string{`{source_labels: [missing], target_label: b}`},
			want:  labels.FromStrings("a", "foo"),
		},
		{
			name:  "replace with empty source and static replacement adds",
			in:    labels.FromStrings("a", "foo"),
			rules: []string{`{target_label: env, replacement: prod}`},
			want:  labels.FromStrings("a", "foo", "env", "prod"),
		},
		{
			name:  "replace with empty regex matches only empty",
			in:    labels.FromStrings("a", "foo"),
			rules: []string{"{source_labels: [a], regex: , target_label: b, replacement: x}", "{source_labels: [z], regex: , target_label: c, replacement: y}"},
			want:  labels.FromStrings("a", "foo", "c", "y"),
		},
		{
			name:   "replace to invalid legacy name after expansion is skipped",
			in:     labels.FromStrings("a", "foo-bar"),
			rules:  []string{`{source_labels: [a], regex: "(.*)", target_label: "${1}", replacement: v}`},
			legacy: true,
			want:   labels.FromStrings("a", "foo-bar"),
		},
		{
			name:  "replace to UTF-8 name under utf8 scheme",
			in:    labels.FromStrings("a", "foo-bar"),
			rules: []string{`{source_labels: [a], regex: "(.*)", target_label: "${1}", replacement: v}`},
			want:  labels.FromStrings("a", "foo-bar", "foo-bar", "v"),
		},
		{
			name:  "replace to empty name after expansion is skipped",
			in:    labels.FromStrings("a", "foo"),
			rules: []string{`{source_labels: [missing], regex: "(.*)", target_label: "${1}", replacement: v}`},
			want:  labels.FromStrings("a", "foo"),
		},
		{
			name:  "replace with named group",
			in:    labels.FromStrings("a", "10.0.0.1:9100"),
			rules: []string{`{source_labels: [a], regex: "(?P<host>[^:]+):.*", target_label: host, replacement: "${host}"}`},
			want:  labels.FromStrings("a", "10.0.0.1:9100", "host", "10.0.0.1"),
		},
		{
			name:  "keep matching",
			in:    labels.FromStrings("a", "foo"),
			rules: []string{`{source_labels: [a], regex: "f.*", action: keep}`},
			want:  labels.FromStrings("a", "foo"),
		},
		{
			name:  "keep not matching drops",
			in:    labels.FromStrings("a", "foo"),
			rules: []string{`{source_labels: [a], regex: "b.*", action: keep}`},
			drop:  true,
		},
		{
			name:  "keep on missing label with empty-matching regex",
			in:    labels.FromStrings("a", "foo"),
			rules: []string{`{source_labels: [missing], regex: "", action: keep}`},
			want:  labels.FromStrings("a", "foo"),
		},
		{
			name:  "drop matching",
			in:    labels.FromStrings("a", "foo"),
			rules: []string{`{source_labels: [a], regex: "foo|bar", action: DROP}`},
			drop:  true,
		},
		{
			name:  "drop stops later rules",
			in:    labels.FromStrings("a", "foo"),
			rules: []string{`{source_labels: [a], action: drop}`, `{target_label: b, replacement: x}`},
			drop:  true,
		},
		{
			name:  "drop not matching keeps",
			in:    labels.FromStrings("a", "foo"),
			rules: []string{`{source_labels: [a], regex: "bar", action: drop}`},
			want:  labels.FromStrings("a", "foo"),
		},
		{
			name:  "keepequal equal",
			in:    labels.FromStrings("a", "1", "b", "1"),
			rules: []string{`{source_labels: [a], target_label: b, action: keepequal}`},
			want:  labels.FromStrings("a", "1", "b", "1"),
		},
		{
			name:  "keepequal different",
			in:    labels.FromStrings("a", "1", "b", "2"),
			rules: []string{`{source_labels: [a], target_label: b, action: keepequal}`},
			drop:  true,
		},
		{
			name:  "keepequal both missing",
			in:    labels.FromStrings("c", "1"),
			rules: []string{`{source_labels: [a], target_label: b, action: keepequal}`},
			want:  labels.FromStrings("c", "1"),
		},
		{
			name:  "dropequal equal",
			in:    labels.FromStrings("a", "1", "b", "1"),
			rules: []string{`{source_labels: [a], target_label: b, action: dropequal}`},
			drop:  true,
		},
		{
			name:  "dropequal different",
			in:    labels.FromStrings("a", "1", "b", "2"),
			rules: []string{`{source_labels: [a], target_label: b, action: dropequal}`},
			want:  labels.FromStrings("a", "1", "b", "2"),
		},
		{
			name:  "hashmod",
			in:    labels.FromStrings("__address__", "10.0.0.1:9100"),
			rules: []string{`{source_labels: [__address__], modulus: 8, target_label: __tmp_hash, action: hashmod}`},
			want:  labels.FromStrings("__address__", "10.0.0.1:9100", "__tmp_hash", hash("10.0.0.1:9100", 8)),
		},
		{
			// Pinned value: a change of hash function would reshuffle
			// every shard of users migrating from Prometheus.
			name:  "hashmod pinned",
			in:    labels.FromStrings("a", "foo"),
			rules: []string{`{source_labels: [a], modulus: 1000, target_label: h, action: hashmod}`},
			want:  labels.FromStrings("a", "foo", "h", "696"),
		},
		{
			name:  "hashmod of empty value",
			in:    labels.FromStrings("a", "foo"),
			rules: []string{`{source_labels: [missing], modulus: 3, target_label: h, action: hashmod}`},
			want:  labels.FromStrings("a", "foo", "h", hash("", 3)),
		},
		{
			name:  "labelmap",
			in:    labels.FromStrings("__meta_x_a", "1", "__meta_x_b", "2", "c", "3"),
			rules: []string{`{regex: "__meta_x_(.+)", action: labelmap}`},
			want:  labels.FromStrings("__meta_x_a", "1", "__meta_x_b", "2", "a", "1", "b", "2", "c", "3"),
		},
		{
			name:  "labelmap overwrites existing",
			in:    labels.FromStrings("__meta_a", "new", "a", "old"),
			rules: []string{`{regex: "__meta_(.+)", replacement: "$1", action: labelmap}`},
			want:  labels.FromStrings("__meta_a", "new", "a", "new"),
		},
		{
			name:  "labelmap with no match",
			in:    labels.FromStrings("a", "1"),
			rules: []string{`{regex: "zzz(.*)", action: labelmap}`},
			want:  labels.FromStrings("a", "1"),
		},
		{
			name:  "labeldrop",
			in:    labels.FromStrings("a", "1", "b1", "2", "b2", "3"),
			rules: []string{`{regex: "b.", action: labeldrop}`},
			want:  labels.FromStrings("a", "1"),
		},
		{
			name:  "labeldrop is anchored",
			in:    labels.FromStrings("ab", "1", "b", "2"),
			rules: []string{`{regex: "b", action: labeldrop}`},
			want:  labels.FromStrings("ab", "1"),
		},
		{
			name:  "labelkeep",
			in:    labels.FromStrings("a", "1", "b1", "2", "c", "3"),
			rules: []string{`{regex: "a|c", action: labelkeep}`},
			want:  labels.FromStrings("a", "1", "c", "3"),
		},
		{
			name:  "labelkeep dropping everything",
			in:    labels.FromStrings("a", "1"),
			rules: []string{`{regex: "zz", action: labelkeep}`},
			want:  labels.EmptyLabels(),
		},
		{
			name:  "lowercase",
			in:    labels.FromStrings("a", "FoO", "b", "BaR"),
			rules: []string{`{source_labels: [a, b], target_label: c, action: lowercase}`},
			want:  labels.FromStrings("a", "FoO", "b", "BaR", "c", "foo;bar"),
		},
		{
			name:  "uppercase in place",
			in:    labels.FromStrings("a", "FoO"),
			rules: []string{`{source_labels: [a], target_label: a, action: Uppercase}`},
			want:  labels.FromStrings("a", "FOO"),
		},
		{
			name:  "lowercase of missing deletes target",
			in:    labels.FromStrings("a", "x", "t", "old"),
			rules: []string{`{source_labels: [missing], target_label: t, action: lowercase}`},
			want:  labels.FromStrings("a", "x"),
		},
		{
			name: "rules see earlier results",
			in:   labels.FromStrings("__address__", "h:1"),
			rules: []string{
				`{source_labels: [__address__], regex: "([^:]+):.*", target_label: host}`,
				`{source_labels: [host], regex: "h", action: keep}`,
				`{regex: "__address__", action: labeldrop}`,
			},
			want: labels.FromStrings("host", "h"),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			scheme := labels.UTF8Validation
			if tc.legacy {
				scheme = labels.LegacyValidation
			}
			var cfgs []*Config
			for _, r := range tc.rules {
				cfgs = append(cfgs, parse(t, scheme, r))
			}
			got, keep := Process(tc.in, cfgs...)
			if keep == tc.drop {
				t.Fatalf("keep = %v, want %v", keep, !tc.drop)
			}
			if !tc.drop && !labels.Equal(got, tc.want) {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
			// The builder path must agree with Process.
			lb := labels.NewBuilder(tc.in)
			if k := ProcessBuilder(lb, cfgs...); k != keep {
				t.Fatalf("ProcessBuilder keep = %v, Process %v", k, keep)
			}
			if keep && !labels.Equal(lb.Labels(), got) {
				t.Fatalf("ProcessBuilder %s, Process %s", lb.Labels(), got)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	var c Config
	if err := yaml.UnmarshalStrict([]byte("target_label: x"), &c); err != nil {
		t.Fatal(err)
	}
	if c.Action != Replace || c.Separator != ";" || c.Replacement != "$1" || c.Regex.String() != "(.*)" || !c.Regex.IsZero() {
		t.Fatalf("defaults not applied: %+v", c)
	}
	out, err := yaml.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	want := "separator: ;\ntarget_label: x\nreplacement: $1\naction: replace\n"
	if string(out) != want {
		t.Fatalf("marshal:\n%s\nwant:\n%s", out, want)
	}
}

func TestValidationErrors(t *testing.T) {
	cases := []struct {
		src    string
		legacy bool
		err    string
	}{
		{src: "action: null", err: "relabel action cannot be empty"},
		{src: "action: explode", err: `unknown relabel action "explode"`},
		{src: "regex: abc(def", err: "error parsing regexp"},
		{src: "{action: hashmod, target_label: x}", err: "relabel configuration for hashmod requires non-zero modulus"},
		{src: "{regex: abc}", err: "relabel configuration for replace action requires 'target_label' value"},
		{src: "{action: hashmod, modulus: 2}", err: "relabel configuration for hashmod action requires 'target_label' value"},
		{src: "{action: lowercase, source_labels: [a]}", err: "relabel configuration for lowercase action requires 'target_label' value"},
		{src: "{action: uppercase, source_labels: [a]}", err: "relabel configuration for uppercase action requires 'target_label' value"},
		{src: "{action: keepequal, source_labels: [a]}", err: "relabel configuration for keepequal action requires 'target_label' value"},
		{src: "{action: dropequal, source_labels: [a]}", err: "relabel configuration for dropequal action requires 'target_label' value"},
		{src: "{action: lowercase, source_labels: [a], target_label: b, replacement: c}", err: "'replacement' can not be set for lowercase action"},
		{src: "{action: keepequal, source_labels: [a], target_label: b, regex: foo}", err: "keepequal action requires only 'source_labels' and `target_label`, and no other fields"},
		{src: "{action: dropequal, source_labels: [a], target_label: b, regex: (.*)}", err: "dropequal action requires only 'source_labels' and `target_label`, and no other fields"},
		{src: "{action: labeldrop, source_labels: [a]}", err: "labeldrop action requires only 'regex', and no other fields"},
		{src: "{action: labelkeep, separator: ','}", err: "labelkeep action requires only 'regex', and no other fields"},
		{src: "{action: labelkeep, modulus: 8}", err: "labelkeep action requires only 'regex', and no other fields"},
		{src: "{action: labeldrop, target_label: x}", err: "labeldrop action requires only 'regex', and no other fields"},
		{src: "{action: labeldrop, replacement: x}", err: "labeldrop action requires only 'regex', and no other fields"},
		{src: "{target_label: 'a-b'}", legacy: true, err: `"a-b" is invalid 'target_label' for replace action`},
		{src: "{target_label: '${1}-x'}", legacy: true, err: `"${1}-x" is invalid 'target_label' for replace action`},
		{src: "{action: hashmod, modulus: 2, target_label: '1x'}", legacy: true, err: `"1x" is invalid 'target_label' for hashmod action`},
		{src: "{action: labelmap, replacement: 'a.b'}", legacy: true, err: `"a.b" is invalid 'replacement' for labelmap action`},
		{src: `{source_labels: [!!binary "/w=="], target_label: a}`, err: `"\xff" is not a valid label name`},
		{src: "{target_label: x, unknown: 1}", err: "field unknown not found"},
	}
	for _, tc := range cases {
		t.Run(tc.src, func(t *testing.T) {
			var c Config
			err := yaml.UnmarshalStrict([]byte(tc.src), &c)
			if err == nil {
				scheme := labels.UTF8Validation
				if tc.legacy {
					scheme = labels.LegacyValidation
				}
				err = c.Validate(scheme)
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want it to contain %q", err, tc.err)
			}
		})
	}
	// The same names are fine under UTF-8 validation, or with references.
	for _, ok := range []string{"{target_label: 'a-b'}", "{target_label: '${1}'}", "{target_label: 'x_${1}_y'}", "{action: labelmap, replacement: 'a.b'}"} {
		parse(t, labels.UTF8Validation, ok)
	}
	parse(t, labels.LegacyValidation, "{target_label: 'x_${1}_y'}")
}

func TestRegexpJSON(t *testing.T) {
	var r Regexp
	if err := r.UnmarshalJSON([]byte(`"a.c"`)); err != nil {
		t.Fatal(err)
	}
	if !r.MatchString("abc") || r.MatchString("abcd") {
		t.Fatal("regex not anchored")
	}
	b, err := r.MarshalJSON()
	if err != nil || string(b) != `"a.c"` {
		t.Fatalf("MarshalJSON = %s, %v", b, err)
	}
	// An expression that escapes the anchoring group is compiled the way
	// Prometheus compiles it and still matches consistently.
	r2, err := NewRegexp("a)|(b")
	if err != nil {
		t.Fatal(err)
	}
	if !r2.MatchString("a") || !r2.MatchString("xb") {
		t.Fatal("escaped anchoring not kept")
	}
}

func BenchmarkProcessBuilder(b *testing.B) {
	var cfgs []*Config
	for _, r := range []string{
		`{source_labels: [__address__], regex: "([^:]+):.*", target_label: instance}`,
		`{source_labels: [job], regex: "node|api", action: keep}`,
		`{regex: "__meta_kubernetes_pod_label_(.+)", action: labelmap}`,
	} {
		var c Config
		if err := yaml.UnmarshalStrict([]byte(r), &c); err != nil {
			b.Fatal(err)
		}
		if err := c.Validate(labels.UTF8Validation); err != nil {
			b.Fatal(err)
		}
		cfgs = append(cfgs, &c)
	}
	in := labels.FromStrings("__address__", "10.1.2.3:9100", "job", "node", "__meta_kubernetes_pod_label_app", "x", "__meta_kubernetes_pod_name", "p")
	lb := labels.NewBuilder(in)
	b.ReportAllocs()
	for b.Loop() {
		lb.Reset(in)
		ProcessBuilder(lb, cfgs...)
	}
}
