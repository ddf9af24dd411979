// Package file owns file-based service discovery (file_sd_configs): target
// groups read from JSON or YAML files named by paths whose last segment
// may be a glob.
//
// Files are not watched with inotify. Each discoverer polls: every few
// seconds it re-globs and compares modification time and size, rereading
// only files that changed, and every refresh_interval (5m by default) it
// rereads everything, which catches edits that kept mtime and size (and
// filesystems with coarse timestamps). Polling keeps the package free of a
// platform-specific dependency, and a stat per file every few seconds is
// negligible next to scraping the targets it lists.
//
// A file that cannot be read or parsed keeps the groups it last produced;
// a file that disappears (or no longer matches) removes its groups. Every
// group gets the label __meta_filepath with the file's path.
package file

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v2"

	"github.com/vigil-monitoring/vigil/internal/discovery"
	"github.com/vigil-monitoring/vigil/internal/model/labels"
)

// FilepathLabel is the meta label naming the file a group came from.
const FilepathLabel = "__meta_filepath"

// patFileSDName accepts a glob only in the last path segment and requires
// a JSON or YAML extension.
var patFileSDName = regexp.MustCompile(`^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$`)

// SDConfig is one file_sd_configs entry.
type SDConfig struct {
	Files           []string           `yaml:"files"`
	RefreshInterval discovery.Duration `yaml:"refresh_interval,omitempty"`
}

// DefaultSDConfig holds Prometheus' defaults.
var DefaultSDConfig = SDConfig{RefreshInterval: discovery.Duration(5 * time.Minute)}

func init() { discovery.RegisterConfig(&SDConfig{}) }

// Name returns "file".
func (*SDConfig) Name() string { return "file" }

// SetDirectory resolves the paths against dir.
func (c *SDConfig) SetDirectory(dir string) {
	for i, f := range c.Files {
		c.Files[i] = discovery.JoinDir(dir, f)
	}
}

// UnmarshalYAML applies defaults and validates the paths.
func (c *SDConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultSDConfig
	type plain SDConfig
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	if len(c.Files) == 0 {
		return errors.New("file service discovery config must contain at least one path name")
	}
	for _, name := range c.Files {
		if !patFileSDName.MatchString(name) {
			return fmt.Errorf("path name %q is not valid for file discovery", name)
		}
	}
	return nil
}

// NewDiscoverer returns a polling discoverer for the files.
func (c *SDConfig) NewDiscoverer(opts discovery.DiscovererOptions) (discovery.Discoverer, error) {
	return NewDiscovery(c, opts), nil
}

// pollInterval is how often the cheap change check runs. A variable so
// that tests need not wait seconds.
var pollInterval = 5 * time.Second

// fileState is what the discoverer remembers of one file.
type fileState struct {
	modTime time.Time
	size    int64
	// groups is the last good content, already labelled.
	groups []*discovery.TargetGroup
	// loaded is false until the file was parsed successfully once.
	loaded bool
}

// Discovery reads target groups from files.
type Discovery struct {
	paths    []string
	refresh  time.Duration
	logger   *slog.Logger
	files    map[string]*fileState
	metrics  *metrics
	lastScan time.Time
}

type metrics struct {
	readErrors   prometheus.Counter
	scanDuration prometheus.Observer
}

// NewDiscovery returns a discoverer for cfg.
func NewDiscovery(cfg *SDConfig, opts discovery.DiscovererOptions) *Discovery {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	refresh := time.Duration(cfg.RefreshInterval)
	if refresh <= 0 {
		refresh = time.Duration(DefaultSDConfig.RefreshInterval)
	}
	return &Discovery{
		paths:   append([]string(nil), cfg.Files...),
		refresh: refresh,
		logger:  logger,
		files:   map[string]*fileState{},
		metrics: &metrics{
			readErrors: discovery.RegisterShared(opts.Registerer, prometheus.NewCounter(prometheus.CounterOpts{
				Name: "prometheus_sd_file_read_errors_total",
				Help: "The number of File-SD read errors.",
			})),
			scanDuration: discovery.RegisterShared(opts.Registerer, prometheus.NewSummary(prometheus.SummaryOpts{
				Name:       "prometheus_sd_file_scan_duration_seconds",
				Help:       "The duration of the File-SD scan in seconds.",
				Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001},
			})),
		},
	}
}

// Run sends all groups at once, then the groups of files that changed.
func (d *Discovery) Run(ctx context.Context, up chan<- []*discovery.TargetGroup) {
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	full := true
	for {
		if groups := d.scan(full); len(groups) > 0 || full {
			select {
			case up <- groups:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			full = time.Since(d.lastScan) >= d.refresh
		}
	}
}

// scan re-globs the paths and returns the groups that changed: all
// groups of files reread, plus empty groups for sources that went away.
// With full set every file is reread.
func (d *Discovery) scan(full bool) []*discovery.TargetGroup {
	start := time.Now()
	defer func() { d.metrics.scanDuration.Observe(time.Since(start).Seconds()) }()
	if full {
		d.lastScan = start
	}

	present := map[string]bool{}
	for _, p := range d.paths {
		matches, err := filepath.Glob(p)
		if err != nil {
			// Only a malformed pattern fails, and UnmarshalYAML rejects those.
			d.logger.Error("error expanding glob", "glob", p, "err", err)
			continue
		}
		for _, m := range matches {
			present[m] = true
		}
	}
	names := make([]string, 0, len(present))
	for n := range present {
		names = append(names, n)
	}
	sort.Strings(names)

	var out []*discovery.TargetGroup
	for _, name := range names {
		st, ok := d.files[name]
		if !ok {
			st = &fileState{}
			d.files[name] = st
		}
		info, err := os.Stat(name)
		if err != nil {
			d.readFailed(name, err)
			continue
		}
		if !full && st.loaded && info.ModTime().Equal(st.modTime) && info.Size() == st.size {
			continue
		}
		groups, err := readFile(name)
		if err != nil {
			d.readFailed(name, err)
			continue
		}
		// Sources beyond the new count must be cleared explicitly.
		for i := len(groups); i < len(st.groups); i++ {
			out = append(out, &discovery.TargetGroup{Source: source(name, i)})
		}
		st.modTime, st.size, st.groups, st.loaded = info.ModTime(), info.Size(), groups, true
		out = append(out, groups...)
	}
	// Files that are gone or no longer match lose their groups.
	for name, st := range d.files {
		if present[name] {
			continue
		}
		for i := range st.groups {
			out = append(out, &discovery.TargetGroup{Source: source(name, i)})
		}
		delete(d.files, name)
	}
	return out
}

func (d *Discovery) readFailed(name string, err error) {
	d.metrics.readErrors.Inc()
	d.logger.Error("error reading file, keeping the last good targets", "path", name, "err", err)
}

func source(filename string, i int) string { return fmt.Sprintf("%s:%d", filename, i) }

// readFile parses one file into labelled groups.
func readFile(name string) ([]*discovery.TargetGroup, error) {
	content, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	groups, err := Parse(content, filepath.Ext(name))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for i, g := range groups {
		g.Source = source(name, i)
		b := labels.NewBuilder(g.Labels)
		b.Set(FilepathLabel, name)
		g.Labels = b.Labels()
	}
	return groups, nil
}

// Parse decodes file content in the file_sd format; ext (".json",
// ".yml", ".yaml", any case) selects the syntax. Unknown keys and null
// groups are errors.
func Parse(content []byte, ext string) ([]*discovery.TargetGroup, error) {
	var groups []*discovery.TargetGroup
	switch strings.ToLower(ext) {
	case ".json":
		dec := json.NewDecoder(bytes.NewReader(content))
		if err := dec.Decode(&groups); err != nil {
			return nil, err
		}
	case ".yml", ".yaml":
		if err := yaml.UnmarshalStrict(content, &groups); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unsupported file extension %q", ext)
	}
	for i, g := range groups {
		if g == nil {
			return nil, fmt.Errorf("nil target group item found (index %d)", i)
		}
	}
	return groups, nil
}
