package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

const policyRCD = "/usr/sbin/policy-rc.d"

// ensurePackages installs the Debian packages whose binaries are missing:
// apt-get install -y --no-install-recommends, with a policy-rc.d that
// returns 101 in place for the duration so that no service is started
// (and removed again if this function put it there). A dpkg lock held by
// another apt-get is waited for, never broken.
func ensurePackages(ctx context.Context, binToPkg [][2]string) error {
	var missing []string
	for _, bp := range binToPkg {
		if _, err := exec.LookPath(bp[0]); err != nil {
			missing = append(missing, bp[1])
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("missing %s; run as root or: apt-get install -y --no-install-recommends %s",
			strings.Join(missing, ", "), strings.Join(missing, " "))
	}
	logf("installing %s with apt-get", strings.Join(missing, " "))
	if _, err := os.Stat(policyRCD); errors.Is(err, fs.ErrNotExist) {
		if err := os.WriteFile(policyRCD, []byte("#!/bin/sh\n# Written by vigil bench/macro/run while it installs packages.\nexit 101\n"), 0o755); err != nil {
			return err
		}
		defer os.Remove(policyRCD)
	}
	updated := false
	for attempt := 1; ; attempt++ {
		args := append([]string{"install", "-y", "--no-install-recommends"}, missing...)
		out, err := aptGet(ctx, args...)
		if err == nil {
			return nil
		}
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case attempt < 40 && (strings.Contains(out, "Could not get lock") || strings.Contains(out, "is another process using it") || strings.Contains(out, "dpkg frontend lock")):
			logf("dpkg is locked by another apt-get; waiting 30s (attempt %d)", attempt)
			if err := sleepCtx(ctx, 30*time.Second); err != nil {
				return err
			}
		case !updated && (strings.Contains(out, "Unable to locate package") || strings.Contains(out, "has no installation candidate")):
			updated = true
			if out, err := aptGet(ctx, "update"); err != nil && !strings.Contains(out, "lock") {
				return fmt.Errorf("apt-get update: %v\n%s", err, out)
			}
		default:
			return fmt.Errorf("apt-get install %s: %v\n%s", strings.Join(missing, " "), err, out)
		}
	}
}

func aptGet(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "apt-get", args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// debVersion is the installed version of a Debian package, or "".
func debVersion(pkg string) string {
	out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", pkg).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// findRepoRoot walks up from dir to the directory whose go.mod declares
// the product module.
func findRepoRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if strings.TrimSpace(sc.Text()) == "module github.com/vigil-monitoring/vigil" {
					f.Close()
					return dir, nil
				}
			}
			f.Close()
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of github.com/vigil-monitoring/vigil above the working directory; pass -repo")
		}
		dir = parent
	}
}

// goBuild runs go build -o out pkg in dir.
func goBuild(ctx context.Context, dir, out, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = dir
	b, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build %s in %s: %v\n%s", pkg, dir, err, b)
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s run: %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, args...))
}
