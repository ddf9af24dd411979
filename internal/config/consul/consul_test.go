package consul

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v2"

	"github.com/vigil-monitoring/vigil/internal/discovery"
)

func TestSDConfig(t *testing.T) {
	var c SDConfig
	if err := yaml.UnmarshalStrict([]byte("services: [a]\nusername: u\npassword: p\n"), &c); err != nil {
		t.Fatal(err)
	}
	if c.Server != "localhost:8500" || !c.AllowStale || c.TagSeparator != "," || c.Scheme != "http" ||
		c.RefreshInterval != discovery.Duration(30*time.Second) {
		t.Fatalf("defaults %+v", c)
	}
	if c.HTTPClientConfig.BasicAuth == nil || c.HTTPClientConfig.BasicAuth.Username != "u" {
		t.Fatal("username/password not turned into basic auth")
	}
	if _, err := c.NewDiscoverer(discovery.DiscovererOptions{}); err != ErrNotImplemented {
		t.Fatalf("NewDiscoverer: %v", err)
	}
	for src, want := range map[string]string{
		"server: ''": "consul SD configuration requires a server address",
		"{username: u, basic_auth: {username: v}}":    "at most one of consul SD configuration username and password and basic auth can be configured",
		"{token: t, authorization: {credentials: c}}": "at most one of consul SD token, authorization, or oauth2 can be configured",
		"{servers: [a]}": "field servers not found",
	} {
		var c SDConfig
		if err := yaml.UnmarshalStrict([]byte(src), &c); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
}
