//go:build reliability

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// relSmallFS mounts a small file system of size bytes at dir and unmounts
// it when the test ends (register it before starting processes that use
// it: cleanups run last-in first-out). It tries tmpfs, then an ext4 image
// on a loop device; RELIABILITY_DISKFULL_MOUNT=loop forces the latter. It
// returns the method used. Without permission to mount, the test fails in
// CI and is skipped elsewhere.
func relSmallFS(t *testing.T, dir string, sizeMiB int) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var errs []error
	if os.Getenv("RELIABILITY_DISKFULL_MOUNT") != "loop" {
		out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm,mode=0755", sizeMiB), "tmpfs", dir).CombinedOutput()
		if err == nil {
			t.Cleanup(func() { relUnmount(t, dir) })
			return "tmpfs"
		}
		errs = append(errs, fmt.Errorf("mount -t tmpfs: %v: %s", err, out))
	}
	img := dir + ".img"
	steps := [][]string{
		{"dd", "if=/dev/zero", "of=" + img, "bs=1M", fmt.Sprintf("count=%d", sizeMiB)},
		{"mkfs.ext4", "-q", "-F", "-m", "0", img},
		{"mount", "-o", "loop", img, dir},
	}
	for i, s := range steps {
		out, err := exec.Command(s[0], s[1:]...).CombinedOutput()
		if err != nil {
			os.Remove(img)
			errs = append(errs, fmt.Errorf("%s: %v: %s", strings.Join(s, " "), err, out))
			break
		}
		if i == len(steps)-1 {
			t.Cleanup(func() {
				relUnmount(t, dir)
				os.Remove(img)
			})
			return "ext4 image on a loop device"
		}
	}
	msg := fmt.Sprintf("cannot mount a small file system: %v", errors.Join(errs...))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func relUnmount(t *testing.T, dir string) {
	out, err := exec.Command("umount", dir).CombinedOutput()
	if err != nil {
		// Something still holds it; detach it anyway so nothing leaks.
		out2, err2 := exec.Command("umount", "-l", dir).CombinedOutput()
		t.Errorf("umount %s: %v: %s (lazy unmount: %v %s)", dir, err, out, err2, out2)
	}
}

// relFill writes zeros to path until the file system is full and returns
// the bytes written.
func relFill(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return 0
		}
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	var n int64
	for {
		w, err := f.Write(buf)
		n += int64(w)
		if errors.Is(err, syscall.ENOSPC) {
			// Take the last partial blocks too.
			for _, size := range []int{4096, 512, 1} {
				for {
					w, err := f.Write(buf[:size])
					n += int64(w)
					if err != nil {
						break
					}
				}
			}
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestReliabilityDiskFull runs vigil on an 8 MiB file system, fills it
// with a file while vigil ingests, and then deletes the file:
//
//   - while full, commits fail: the log has an error naming "no space
//     left on device", and vigil_tsdb_head_commit_failures_total and
//     prometheus_tsdb_wal_writes_failed_total increase;
//   - the server stays healthy and still serves every sample it served
//     before the disk filled, with the same values;
//   - once the file is gone, ingestion resumes (new samples arrive) and
//     commits stop failing;
//   - nothing stored was damaged: after a clean restart on the same file
//     system the WAL replays without a corruption and every sample served
//     before the restart is served again.
func TestReliabilityDiskFull(t *testing.T) {
	bin := relBinary(t)
	dir := t.TempDir()
	mnt := filepath.Join(dir, "mnt")
	method := relSmallFS(t, mnt, 8)
	t.Logf("small file system: %s (8 MiB) at %s", method, mnt)
	data := filepath.Join(mnt, "data")
	filler := filepath.Join(mnt, "filler")
	const gauges = 10
	tgt := relNewSeqTarget(t, gauges, 40)
	cfg := filepath.Join(dir, "vigil.yml")
	relWriteFile(t, cfg, relConfig(relJob("rel", "200ms", "200ms", "", tgt.addr)))
	evalAt := time.Now().Add(2 * time.Hour)
	rawQuery := relStableQuery + "[3h]"
	args := []string{"--config.file=" + cfg, "--storage.tsdb.path=" + data}

	v := relStart(t, bin, dir, "vigil-1", args...)
	v.waitReady(t)
	newest := func() (relMatrix, int64) {
		t.Helper()
		got, err := relQuery(v.base, rawQuery, evalAt)
		if err != nil {
			t.Fatalf("raw query: %v", err)
		}
		return got, relMaxT(got, `{__name__="rel_seq"`)
	}
	relWait(t, v, 30*time.Second, "10 scrapes", func() (bool, string) {
		got, err := relQuery(v.base, "rel_seq[3h]", evalAt)
		if err != nil {
			return false, err.Error()
		}
		return relCount(got) >= 10, fmt.Sprintf("%d samples", relCount(got))
	})
	before, _ := newest()
	seen := relSampleSet{}
	seen.add(before)
	metric := func(name string) float64 {
		t.Helper()
		c, err := relMetric(v.base, name)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	commitFails0 := metric("vigil_tsdb_head_commit_failures_total")
	walFails0 := metric("prometheus_tsdb_wal_writes_failed_total")

	// Fill the file system.
	filled := relFill(t, filler)
	fullAt := time.Now()
	t.Logf("filler took %d KiB", filled>>10)
	// Several scrapes in a row must fail, not just one.
	relWait(t, v, 20*time.Second, "failing commits", func() (bool, string) {
		c := metric("vigil_tsdb_head_commit_failures_total")
		return c >= commitFails0+3, fmt.Sprintf("vigil_tsdb_head_commit_failures_total = %v", c)
	})
	relWait(t, v, 10*time.Second, "the failure in the log", func() (bool, string) {
		for _, e := range v.logEntries() {
			if (e.Level == "ERROR" || e.Level == "WARN") && strings.Contains(e.Line, "no space left on device") {
				return true, ""
			}
		}
		return false, "no warning or error naming \"no space left on device\""
	})
	commitFails := metric("vigil_tsdb_head_commit_failures_total")
	walFails := metric("prometheus_tsdb_wal_writes_failed_total")
	if walFails <= walFails0 {
		t.Errorf("prometheus_tsdb_wal_writes_failed_total stayed at %v while commits failed", walFails)
	}
	for _, e := range v.logEntries() {
		if strings.Contains(e.Line, "no space left on device") {
			t.Logf("log: %s", e.Line)
			break
		}
	}
	// Full: still healthy, still serving what it had.
	if code, _, err := relGet(v.base + "/-/healthy"); err != nil || code != 200 {
		t.Errorf("/-/healthy while the disk is full: %d %v", code, err)
	}
	during, _ := newest()
	if p := relCheckContains(seen, during, 10); len(p) > 0 {
		t.Fatalf("while the disk is full, earlier samples are not served:\n  %s", strings.Join(p, "\n  "))
	}
	seen.add(during)

	// Free the space: ingestion resumes and commits stop failing.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freedAt := time.Now()
	relWait(t, v, 20*time.Second, "a sample after the space was freed", func() (bool, string) {
		_, maxT := newest()
		return maxT > freedAt.UnixMilli(), fmt.Sprintf("newest rel_seq at %d", maxT)
	})
	resumed := time.Since(freedAt)
	failsAtResume := metric("vigil_tsdb_head_commit_failures_total")
	var after relMatrix
	relWait(t, v, 20*time.Second, "5 more samples", func() (bool, string) {
		var maxT int64
		after, maxT = newest()
		n := 0
		for _, p := range after[relKeyOfSeq(after)] {
			if p.T > freedAt.UnixMilli() {
				n++
			}
		}
		return n >= 6, fmt.Sprintf("%d samples since the space was freed (newest %d)", n, maxT)
	})
	if c := metric("vigil_tsdb_head_commit_failures_total"); c != failsAtResume {
		t.Errorf("commits still fail after ingestion resumed: vigil_tsdb_head_commit_failures_total %v -> %v", failsAtResume, c)
	}
	var problems []string
	problems = append(problems, relCheckContains(seen, after, 10)...)
	problems = append(problems, relCheckOrdered(after)...)
	problems = append(problems, relCheckScrapes(after, gauges)...)
	if len(problems) > 0 {
		t.Fatalf("after the space was freed:\n  %s", strings.Join(problems, "\n  "))
	}
	seen.add(after)
	t.Logf("full for %v: commit failures %v -> %v, WAL write failures %v -> %v; ingestion resumed %v after the space was freed",
		freedAt.Sub(fullAt).Round(time.Millisecond), commitFails0, commitFails, walFails0, walFails, resumed.Round(time.Millisecond))
	relCheckNoPanic(t, v)
	final, _ := newest()
	seen.add(final)
	v.stop(t, 30*time.Second)

	// Nothing stored is damaged: a clean replay with everything.
	v = relStart(t, bin, dir, "vigil-2", args...)
	v.waitReady(t)
	if c := metric("prometheus_tsdb_wal_corruptions_total"); c != 0 {
		t.Errorf("replay after the full disk found %v WAL corruptions", c)
	}
	got, _ := newest()
	problems = append(problems, relCheckContains(seen, got, 10)...)
	problems = append(problems, relCheckOrdered(got)...)
	problems = append(problems, relCheckScrapes(got, gauges)...)
	if len(problems) > 0 {
		t.Fatalf("after a restart:\n  %s", strings.Join(problems, "\n  "))
	}
	t.Logf("restart after the full disk: %d samples served as before", seen.count())
	v.stop(t, 30*time.Second)
}

// relKeyOfSeq returns the key of the rel_seq series in m.
func relKeyOfSeq(m relMatrix) string {
	for k := range m {
		if strings.HasPrefix(k, `{__name__="rel_seq"`) {
			return k
		}
	}
	return ""
}
