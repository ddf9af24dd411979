//go:build interop

package scrape

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The real components the interop tests run, from Debian's packages
// (.ci/install-interop.sh installs them).
const (
	nodeExporterBin  = "/usr/bin/prometheus-node-exporter"
	redisExporterBin = "/usr/bin/prometheus-redis-exporter"
	redisServerBin   = "/usr/bin/redis-server"
	etcdBin          = "/usr/bin/etcd"
)

var interopPackages = map[string]string{
	nodeExporterBin:  "prometheus-node-exporter",
	redisExporterBin: "prometheus-redis-exporter",
	redisServerBin:   "redis-server",
	etcdBin:          "etcd-server",
}

// requireInteropBinaries fails the test under CI (CI=true) and skips it
// elsewhere when one of bins is not installed, naming the package.
func requireInteropBinaries(t *testing.T, bins ...string) {
	t.Helper()
	var missing []string
	for _, b := range bins {
		if fi, err := os.Stat(b); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, fmt.Sprintf("%s (Debian package %s)", b, interopPackages[b]))
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "missing " + strings.Join(missing, ", ") + "; run .ci/install-interop.sh as root"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// interopSharedDir returns <repo>/../shared/conformance/<name>, where the
// repository root is the nearest parent holding go.mod. It fails under CI
// and skips elsewhere when the directory is not there.
func interopSharedDir(t *testing.T, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
	res := filepath.Join(filepath.Dir(dir), "shared", "conformance", name)
	if _, err := os.Stat(res); err != nil {
		msg := fmt.Sprintf("fixtures %s not found: %v", res, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return res
}

// freePorts returns n distinct TCP ports that were free on 127.0.0.1 a
// moment ago. Another process may take one before it is used; callers
// retry on "address already in use".
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var (
		ports []int
		lns   []net.Listener
	)
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// interopProc is a real component running in its own process group.
type interopProc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	exited  chan struct{} // closed once Wait returned
	waitErr error
}

// logTail returns the end of the process' output, for failure messages.
func (p *interopProc) logTail() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return err.Error()
	}
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(b)
}

func (p *interopProc) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// stop ends the whole process group: SIGTERM, then SIGKILL after a grace
// period. It reports anything left behind.
func (p *interopProc) stop() error {
	pgid := p.cmd.Process.Pid // the leader's pid is the group's id (Setpgid)
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.exited
	}
	// The leader is reaped; any other member of its group is a leftover.
	if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		return fmt.Errorf("%s: processes of group %d were still running after the leader exited", p.name, pgid)
	}
	return nil
}

// startInteropProc starts bin in a new process group with its output in a
// log file under a temporary directory, and stops the group when the test
// ends. ready is polled until it returns nil; when the process exits before
// that and its log says the address was taken, the whole start is retried
// with new ports (args gets them), at most three times.
func startInteropProc(t *testing.T, name, bin string, nports int, args func(ports []int) []string, ready func(ports []int) error) (*interopProc, []int) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		ports := freePorts(t, nports)
		p := launchInteropProc(t, name, bin, args(ports))
		err := waitInteropReady(p, 20*time.Second, func() error { return ready(ports) })
		if err == nil {
			return p, ports
		}
		tail := p.logTail()
		stopErr := p.stop()
		if attempt < 3 && strings.Contains(strings.ToLower(tail), "address already in use") {
			t.Logf("%s: port taken, retrying (%v)", name, err)
			continue
		}
		t.Fatalf("%s did not become ready: %v (stop: %v)\n--- %s log ---\n%s", name, err, stopErr, name, tail)
	}
}

func launchInteropProc(t *testing.T, name, bin string, args []string) *interopProc {
	t.Helper()
	logf, err := os.CreateTemp(t.TempDir(), name+"-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = filepath.Dir(logf.Name())
	// Own process group, so the whole group can be signalled; the parent
	// death signal ends the component should the test binary be killed
	// before its cleanup runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &interopProc{name: name, cmd: cmd, logPath: logf.Name(), exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		if p.hasExited() {
			return // stopped already (a retried start), or died: the test said so
		}
		if err := p.stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("--- %s log (tail) ---\n%s", name, p.logTail())
		}
	})
	return p
}

// waitInteropReady polls ready every 50ms until it returns nil, the
// process exits or limit passes.
func waitInteropReady(p *interopProc, limit time.Duration, ready func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if p.hasExited() {
			return fmt.Errorf("exited (%v) before it was ready: %v", p.waitErr, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %v: %v", limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// httpReady returns a readiness check that GETs url and wants status 200
// and a body containing want.
func httpReady(url, want string) func() error {
	client := &http.Client{Timeout: time.Second}
	return func() error {
		resp, err := client.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", url, resp.Status)
		}
		if !strings.Contains(string(b), want) {
			return fmt.Errorf("%s: body lacks %q", url, want)
		}
		return nil
	}
}

// redisCommand sends one command in the Redis protocol and returns the
// first line of the reply.
func redisCommand(addr string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	var b strings.Builder
	b.WriteString("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		b.WriteString("$" + strconv.Itoa(len(a)) + "\r\n" + a + "\r\n")
	}
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimRight(line, "\r\n"), err
}

// Starters for each component. Each returns the address to scrape.

func startNodeExporter(t *testing.T) string {
	t.Helper()
	textfiles := t.TempDir()
	marker := "# HELP vigil_interop_marker Written by the interop test.\n# TYPE vigil_interop_marker gauge\nvigil_interop_marker{source=\"textfile\"} 42\n"
	if err := os.WriteFile(filepath.Join(textfiles, "interop.prom"), []byte(marker), 0o644); err != nil {
		t.Fatal(err)
	}
	_, ports := startInteropProc(t, "node-exporter", nodeExporterBin, 1,
		func(p []int) []string {
			return []string{
				"--web.listen-address=127.0.0.1:" + strconv.Itoa(p[0]),
				"--collector.textfile.directory=" + textfiles,
				"--no-collector.systemd", // no systemd here: it would only log failures
				"--log.level=warn",
			}
		},
		func(p []int) error {
			return httpReady(fmt.Sprintf("http://127.0.0.1:%d/metrics", p[0]), "vigil_interop_marker")()
		})
	return "127.0.0.1:" + strconv.Itoa(ports[0])
}

// startRedisWithExporter starts redis-server and, beside it, the Redis
// exporter pointed at it (the sidecar pattern). It stores one key so the
// exporter has something of the server's own to report.
func startRedisWithExporter(t *testing.T) (exporterAddr string) {
	t.Helper()
	dir := t.TempDir()
	_, rports := startInteropProc(t, "redis-server", redisServerBin, 1,
		func(p []int) []string {
			return []string{
				"--bind", "127.0.0.1", "--port", strconv.Itoa(p[0]),
				"--save", "", "--appendonly", "no", "--dir", dir,
				"--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning",
			}
		},
		func(p []int) error {
			reply, err := redisCommand("127.0.0.1:"+strconv.Itoa(p[0]), "PING")
			if err == nil && reply != "+PONG" {
				err = fmt.Errorf("PING answered %q", reply)
			}
			return err
		})
	redisAddr := "127.0.0.1:" + strconv.Itoa(rports[0])
	if reply, err := redisCommand(redisAddr, "SET", "vigil:interop", "1"); err != nil || reply != "+OK" {
		t.Fatalf("SET: %q %v", reply, err)
	}
	_, eports := startInteropProc(t, "redis-exporter", redisExporterBin, 1,
		func(p []int) []string {
			return []string{
				"-redis.addr", "redis://" + redisAddr,
				"-web.listen-address", "127.0.0.1:" + strconv.Itoa(p[0]),
			}
		},
		func(p []int) error {
			return httpReady(fmt.Sprintf("http://127.0.0.1:%d/metrics", p[0]), "redis_up 1")()
		})
	return "127.0.0.1:" + strconv.Itoa(eports[0])
}

// startEtcd starts a single-member etcd and waits until it has a leader.
// Its /metrics is served on the client port.
func startEtcd(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	_, ports := startInteropProc(t, "etcd", etcdBin, 2,
		func(p []int) []string {
			client := "http://127.0.0.1:" + strconv.Itoa(p[0])
			peer := "http://127.0.0.1:" + strconv.Itoa(p[1])
			return []string{
				"--name", "interop",
				"--data-dir", filepath.Join(dir, "data"),
				"--listen-client-urls", client, "--advertise-client-urls", client,
				"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
				"--initial-cluster", "interop=" + peer,
				"--initial-cluster-state", "new",
			}
		},
		func(p []int) error {
			return httpReady(fmt.Sprintf("http://127.0.0.1:%d/health", p[0]), `"health":"true"`)()
		})
	return "127.0.0.1:" + strconv.Itoa(ports[0])
}
