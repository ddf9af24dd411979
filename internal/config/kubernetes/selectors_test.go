package kubernetes

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v2"
)

func TestSelectors(t *testing.T) {
	for _, ok := range []string{"", "a=b", "a==b,c!=d", `a=b\,c`, "metadata.status=Running"} {
		if err := ValidateFieldSelector(ok); err != nil {
			t.Errorf("field selector %q: %v", ok, err)
		}
	}
	if err := ValidateFieldSelector("metadata.status-Running"); err == nil || err.Error() != "invalid selector: 'metadata.status-Running'; can't understand 'metadata.status-Running'" {
		t.Errorf("field selector error: %v", err)
	}
	for _, bad := range []string{`a=b\x`, "=b"} {
		if err := ValidateFieldSelector(bad); err == nil {
			t.Errorf("field selector %q accepted", bad)
		}
	}
	for _, ok := range []string{"", "foo=bar", "foo in (bar,baz)", "foo notin (a, b), x", "!x", "a!=b,c==d", "app.kubernetes.io/name=x", "x>3", "e="} {
		if err := ValidateLabelSelector(ok); err != nil {
			t.Errorf("label selector %q: %v", ok, err)
		}
	}
	for _, bad := range []string{"foo in (bar", "foo in bar", "-x=y", "x=-y", "x>y", "a b", "=x", "a,,b"} {
		if err := ValidateLabelSelector(bad); err == nil {
			t.Errorf("label selector %q accepted", bad)
		}
	}
}

func TestSDConfig(t *testing.T) {
	for src, want := range map[string]string{
		"api_server: http://x": "role missing",
		"role: vacation":       `unknown Kubernetes SD role "vacation"`,
		"{role: pod, kubeconfig_file: k, api_server: http://x}":                "cannot use 'kubeconfig_file' and 'api_server' simultaneously",
		"{role: pod, authorization: {credentials: x}}":                         "please provide the 'api_server' URL explicitly",
		"{role: node, selectors: [{role: pod}]}":                               "node role supports only node selectors",
		"{role: pod, selectors: [{role: pod}, {role: pod}]}":                   "duplicated selector role: pod",
		"{role: pod, namespaces: {own_namespace: true}, api_server: http://x}": "cannot use 'api_server' and 'namespaces.own_namespace' simultaneously",
	} {
		var c SDConfig
		if err := yaml.UnmarshalStrict([]byte(src), &c); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", src, err, want)
		}
	}
	var c SDConfig
	if err := yaml.UnmarshalStrict([]byte("{role: endpointslice, api_server: https://k8s, basic_auth: {username: u}}"), &c); err != nil {
		t.Fatal(err)
	}
	if c.Name() != "kubernetes" || c.APIServer.Host != "k8s" || !c.HTTPClientConfig.FollowRedirects {
		t.Fatalf("decoded %+v", c)
	}
}
