package file

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v2"

	"github.com/vigil-monitoring/vigil/internal/discovery"
)

func fixtures(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "..", "shared", "conformance", "discovery")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("discovery fixtures missing: %v", err)
		}
		t.Skip("discovery fixtures not found")
	}
	return dir
}

// summary renders groups as "source[targets]{labels}" lines, sorted.
func summary(groups []*discovery.TargetGroup) string {
	var lines []string
	for _, g := range groups {
		var ts []string
		for _, t := range g.Targets {
			ts = append(ts, t.Get(discovery.AddressLabel))
		}
		lines = append(lines, fmt.Sprintf("%s%v%s", g.Source, ts, g.Labels))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func TestParseFixtures(t *testing.T) {
	dir := fixtures(t)
	want := "[localhost:9090 example.org:443]{foo=\"bar\"}\n[my.domain]{}"
	for _, name := range []string{"valid.json", "valid.yml", "valid3.yml"} {
		content, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		groups, err := Parse(content, filepath.Ext(name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := summary(groups); got != want {
			t.Errorf("%s:\n%s\nwant\n%s", name, got, want)
		}
	}
	content, _ := os.ReadFile(filepath.Join(dir, "valid2.yml"))
	if groups, err := Parse(content, ".yml"); err != nil || len(groups) != 3 || groups[2].Labels.Get("scheme") != "https" {
		t.Fatalf("valid2.yml: %v %v", summary(groups), err)
	}
	for _, name := range []string{"invalid_nil.json", "invalid_nil.yml"} {
		content, _ := os.ReadFile(filepath.Join(dir, name))
		if _, err := Parse(content, filepath.Ext(name)); err == nil || !strings.Contains(err.Error(), "nil target group item found") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Parse([]byte(`[{"targets":["a"],"bogus":1}]`), ".json"); err == nil {
		t.Error("unknown JSON field accepted")
	}
	if _, err := Parse([]byte("- targets: [a]\n  bogus: 1\n"), ".YAML"); err == nil {
		t.Error("unknown YAML field accepted")
	}
}

func TestConfig(t *testing.T) {
	var c SDConfig
	if err := yaml.UnmarshalStrict([]byte("files: [a/*.json, b.yml]"), &c); err != nil {
		t.Fatal(err)
	}
	if c.RefreshInterval != discovery.Duration(5*time.Minute) {
		t.Fatalf("default refresh %v", c.RefreshInterval)
	}
	for src, want := range map[string]string{
		"files: []":             "must contain at least one path name",
		"files: ['a/*/b.json']": `path name "a/*/b.json" is not valid for file discovery`,
		"files: ['a.txt']":      `path name "a.txt" is not valid`,
	} {
		var c SDConfig
		if err := yaml.UnmarshalStrict([]byte(src), &c); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", src, err)
		}
	}
	c.SetDirectory("/etc/vigil")
	if c.Files[0] != "/etc/vigil/a/*.json" {
		t.Fatalf("SetDirectory: %v", c.Files)
	}
}

// state accumulates updates as a consumer does: the latest group per source.
type state map[string]*discovery.TargetGroup

func (s state) apply(groups []*discovery.TargetGroup) {
	for _, g := range groups {
		s[g.Source] = g
	}
}

func (s state) String() string {
	var nonEmpty []*discovery.TargetGroup
	for _, g := range s {
		if len(g.Targets) > 0 {
			nonEmpty = append(nonEmpty, g)
		}
	}
	return summary(nonEmpty)
}

func TestDiscovery(t *testing.T) {
	old := pollInterval
	pollInterval = 10 * time.Millisecond
	t.Cleanup(func() { pollInterval = old })

	dir := t.TempDir()
	a := filepath.Join(dir, "a.json")
	write := func(path, content string) {
		t.Helper()
		// Write-then-rename so the discoverer never sees half a file.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	write(a, `[{"targets":["h1:1"],"labels":{"env":"a"}},{"targets":["h2:1"]}]`)

	d := NewDiscovery(&SDConfig{Files: []string{filepath.Join(dir, "*.json"), filepath.Join(dir, "*.yml")}, RefreshInterval: discovery.Duration(time.Hour)}, discovery.DiscovererOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	up := make(chan []*discovery.TargetGroup)
	go d.Run(ctx, up)

	st := state{}
	expect := func(want string) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for st.String() != want {
			select {
			case g := <-up:
				st.apply(g)
			case <-deadline:
				t.Fatalf("state:\n%s\nwant:\n%s", st, want)
			}
		}
	}
	expect(fmt.Sprintf("%[1]s:0[h1:1]{__meta_filepath=%[2]q, env=\"a\"}\n%[1]s:1[h2:1]{__meta_filepath=%[2]q}", a, a))

	// An edit is picked up by the mtime/size check, long before the
	// hour-long full refresh; a dropped group is cleared.
	write(a, `[{"targets":["h1:1","h3:1"],"labels":{"env":"b"}}]`)
	expect(fmt.Sprintf("%[1]s:0[h1:1 h3:1]{__meta_filepath=%[2]q, env=\"b\"}", a, a))

	// A broken file keeps the last good targets; a new matching file adds.
	write(a, `[{"targets": [`)
	b := filepath.Join(dir, "b.yml")
	write(b, "- targets: ['y:1']\n")
	expect(fmt.Sprintf("%[1]s:0[h1:1 h3:1]{__meta_filepath=%[2]q, env=\"b\"}\n%[3]s:0[y:1]{__meta_filepath=%[4]q}", a, a, b, b))

	// A deleted file loses its targets.
	if err := os.Remove(b); err != nil {
		t.Fatal(err)
	}
	expect(fmt.Sprintf("%[1]s:0[h1:1 h3:1]{__meta_filepath=%[2]q, env=\"b\"}", a, a))
	// Repaired, the file is read again.
	write(a, `[{"targets":["z:1"]}]`)
	expect(fmt.Sprintf("%[1]s:0[z:1]{__meta_filepath=%[2]q}", a, a))
}

// The full refresh rereads files even when mtime and size are unchanged.
func TestFullRefreshRereads(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yml")
	if err := os.WriteFile(a, []byte("- targets: ['a:1']\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := NewDiscovery(&SDConfig{Files: []string{a}}, discovery.DiscovererOptions{})
	if got := d.scan(true); len(got) != 1 || got[0].Targets[0].Get(discovery.AddressLabel) != "a:1" {
		t.Fatalf("first scan %v", summary(got))
	}
	info, _ := os.Stat(a)
	if err := os.WriteFile(a, []byte("- targets: ['b:1']\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(a, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	if got := d.scan(false); len(got) != 0 {
		t.Fatalf("cheap check should not notice: %v", summary(got))
	}
	if got := d.scan(true); len(got) != 1 || got[0].Targets[0].Get(discovery.AddressLabel) != "b:1" {
		t.Fatalf("full refresh %v", summary(got))
	}
}
