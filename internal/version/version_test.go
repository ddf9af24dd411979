package version

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	vcs := &debug.BuildInfo{
		Main: debug.Module{Version: "(devel)"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc123"},
			{Key: "vcs.time", Value: "2026-11-29T00:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	for _, tc := range []struct {
		name                   string
		ver, rev, branch, date string
		bi                     *debug.BuildInfo
		want                   Info
	}{
		{
			name: "ldflags win over embedded data",
			ver:  "1.2.3", rev: "deadbeef", branch: "main", date: "20261129-00:00:00",
			bi:   vcs,
			want: Info{Version: "1.2.3", Revision: "deadbeef", Branch: "main", BuildUser: "unknown", BuildDate: "20261129-00:00:00"},
		},
		{
			name: "embedded VCS data fills the gaps and marks a dirty tree",
			bi:   vcs,
			want: Info{Version: defaultVersion, Revision: "abc123-modified", Branch: "unknown", BuildUser: "unknown", BuildDate: "2026-11-29T00:00:00Z"},
		},
		{
			name: "module version from go install",
			bi:   &debug.BuildInfo{Main: debug.Module{Version: "v0.4.0"}},
			want: Info{Version: "0.4.0", Revision: "unknown", Branch: "unknown", BuildUser: "unknown", BuildDate: "unknown"},
		},
		{
			name: "nothing known",
			want: Info{Version: defaultVersion, Revision: "unknown", Branch: "unknown", BuildUser: "unknown", BuildDate: "unknown"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := resolve(tc.ver, tc.rev, tc.branch, "", tc.date, tc.bi)
			tc.want.GoVersion = runtime.Version()
			tc.want.Platform = runtime.GOOS + "/" + runtime.GOARCH
			if got != tc.want {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestPrint(t *testing.T) {
	out := Info{Version: "1.0.0", Revision: "r", Branch: "b", BuildUser: "u", BuildDate: "d", GoVersion: "go1.26", Platform: "linux/amd64"}.Print("vigil")
	for _, want := range []string{"vigil, version 1.0.0 (branch: b, revision: r)", "build user:       u", "build date:       d", "go version:       go1.26", "platform:         linux/amd64"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
