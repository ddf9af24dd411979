package bench

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// samplesDir is where the shared conformance corpus keeps its exposition
// samples, relative to this directory (/work/main/bench -> /work/shared).
const samplesDir = "../../shared/conformance/exposition/samples"

// nodeExporterTarget is the size of the generated node-exporter-like body.
const nodeExporterTarget = 1 << 20

const (
	textContentType = "text/plain; version=0.0.4"
	omContentType   = "application/openmetrics-text; version=1.0.0"
)

// payload is one input body the parse benchmarks run over.
type payload struct {
	name        string                  // the file= part of the benchmark name
	load        func(testing.TB) []byte // skips tb when the input is unavailable
	contentType string
}

// sampleFile loads a file from the shared corpus, or skips with a message.
func sampleFile(file string) func(testing.TB) []byte {
	return func(tb testing.TB) []byte {
		tb.Helper()
		body, err := os.ReadFile(filepath.Join(samplesDir, file))
		if err != nil {
			tb.Skipf("sample %s not available (%v); the shared conformance corpus is expected at %s", file, err, samplesDir)
		}
		return body
	}
}

var (
	nodeOnce sync.Once
	nodeBody []byte
)

// nodeExporterBody returns the ~1 MB node-exporter-like body, generated once
// by Vigil's own generator so every implementation parses the same bytes.
func nodeExporterBody(testing.TB) []byte {
	nodeOnce.Do(func() { nodeBody = generateNodeExporter(nodeExporterTarget) })
	return nodeBody
}

// textPayloads are the Prometheus text format (0.0.4) inputs.
var textPayloads = []payload{
	{name: "alltypes", load: sampleFile("alltypes.237mfs.prom.txt"), contentType: textContentType},
	{name: "nodeexporter1MB", load: nodeExporterBody, contentType: textContentType},
}

// omPayloads are the OpenMetrics 1.0 inputs.
var omPayloads = []payload{
	{name: "alltypes5mfs", load: sampleFile("alltypes.5mfs.om.txt"), contentType: omContentType},
}
