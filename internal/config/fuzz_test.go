package config_test

import (
	"testing"

	"github.com/vigil-monitoring/vigil/internal/config"
)

// FuzzLoad checks that no input panics the loader and that every
// configuration that loads prints as YAML that loads again to the same
// text: /api/v1/status/config output must be a valid configuration.
func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		"",
		"global:\n  scrape_interval: 15s\n  external_labels: {a: b}\n",
		"scrape_configs:\n- job_name: a\n  static_configs: [{targets: ['h:1'], labels: {x: y}}]\n",
		"scrape_configs:\n- job_name: a\n  relabel_configs: [{source_labels: [a], regex: '(.*)', target_label: b, action: replace}]\n",
		"scrape_configs:\n- job_name: a\n  file_sd_configs: [{files: [x.json]}]\n  dns_sd_configs: [{names: [a], type: A, port: 1}]\n",
		"remote_write:\n- url: http://x/\n  queue_config: {max_shards: 3}\n",
		"alerting:\n  alertmanagers:\n  - static_configs: [{targets: ['a:1']}]\n",
		"storage:\n  tsdb: {out_of_order_time_window: 1h}\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		cfg, err := config.Load(src, "", nil)
		if err != nil {
			return
		}
		printed := cfg.String()
		again, err := config.Load(printed, "", nil)
		if err != nil {
			t.Fatalf("printed configuration does not load: %v\n%s", err, printed)
		}
		if again.String() != printed {
			t.Fatalf("printing is not stable:\n%s\n---\n%s", printed, again.String())
		}
	})
}
