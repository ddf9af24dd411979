package archtest

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// peerModules are the products Vigil is measured against. Only the separate
// bench/ module may import them; the product must stay independent of them.
var peerModules = []string{
	"github.com/prometheus/prometheus",
	"github.com/VictoriaMetrics/VictoriaMetrics",
	module + "/bench",
}

type pkg struct {
	ImportPath  string
	Imports     []string
	TestImports []string
	Deps        []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-test=false", "-json=ImportPath,Imports,TestImports,Deps", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}

func TestImportRules(t *testing.T) {
	for _, p := range listPackages(t) {
		from, err := classify(p.ImportPath)
		if err != nil {
			t.Error(err)
			continue
		}
		for _, imp := range append(append([]string{}, p.Imports...), p.TestImports...) {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			to, err := classify(imp)
			if err != nil {
				t.Error(err)
				continue
			}
			if why := allowed(from, to); why != "" {
				t.Errorf("%s imports %s: %s", p.ImportPath, imp, why)
			}
		}
	}
}

func TestProductDoesNotImportPeers(t *testing.T) {
	for _, p := range listPackages(t) {
		for _, dep := range p.Deps {
			for _, peer := range peerModules {
				if dep == peer || strings.HasPrefix(dep, peer+"/") {
					t.Errorf("%s depends on %s; only the bench/ module may import peer products", p.ImportPath, dep)
				}
			}
		}
	}
}
