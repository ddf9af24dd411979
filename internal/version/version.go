// Package version owns the build information of the vigil binary: the
// values `vigil --version`, the buildinfo API and the
// prometheus_build_info-style metric report.
//
// Release builds set the variables with -ldflags "-X ...". A plain
// `go build` or `go run` leaves them empty, and the defaults then come from
// the module and VCS data the Go toolchain embeds (debug.ReadBuildInfo), so
// a developer build still says which commit it is.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set by -ldflags "-X github.com/vigil-monitoring/vigil/internal/version.Version=...".
var (
	Version   string
	Revision  string
	Branch    string
	BuildUser string
	BuildDate string
)

// Info is the resolved build information.
type Info struct {
	Version   string
	Revision  string
	Branch    string
	BuildUser string
	BuildDate string
	GoVersion string
	Platform  string
}

// defaultVersion is what a build that is neither stamped by -ldflags nor
// built from a tagged module version reports.
const defaultVersion = "0.1.0-dev"

// Get resolves the build information, preferring -ldflags values and
// falling back to what the toolchain embedded.
func Get() Info {
	return resolve(Version, Revision, Branch, BuildUser, BuildDate, readBuildInfo())
}

func readBuildInfo() *debug.BuildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	return bi
}

func resolve(ver, rev, branch, user, date string, bi *debug.BuildInfo) Info {
	info := Info{
		Version:   ver,
		Revision:  rev,
		Branch:    branch,
		BuildUser: user,
		BuildDate: date,
		GoVersion: runtime.Version(),
		Platform:  runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi != nil {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = strings.TrimPrefix(bi.Main.Version, "v")
		}
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if info.Revision == "" {
					info.Revision = s.Value
				}
			case "vcs.time":
				if info.BuildDate == "" {
					info.BuildDate = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && rev == "" && info.Revision != "" {
			info.Revision += "-modified"
		}
	}
	if info.Version == "" {
		info.Version = defaultVersion
	}
	for _, f := range []*string{&info.Revision, &info.Branch, &info.BuildUser, &info.BuildDate} {
		if *f == "" {
			*f = "unknown"
		}
	}
	return info
}

// Print renders the information the way Prometheus' `--version` does, so
// scripts that scrape that output keep working.
func (i Info) Print(program string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, version %s (branch: %s, revision: %s)\n", program, i.Version, i.Branch, i.Revision)
	fmt.Fprintf(&b, "  build user:       %s\n", i.BuildUser)
	fmt.Fprintf(&b, "  build date:       %s\n", i.BuildDate)
	fmt.Fprintf(&b, "  go version:       %s\n", i.GoVersion)
	fmt.Fprintf(&b, "  platform:         %s\n", i.Platform)
	return b.String()
}
