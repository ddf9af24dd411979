// Runs the unit tests in test/*.test.ts: esbuild bundles each into a
// temporary directory, then Node's own test runner executes them.
import * as esbuild from "esbuild";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = mkdtempSync(join(tmpdir(), "vigil-ui-test-"));
try {
  const tests = readdirSync(join(here, "test"))
    .filter((f) => f.endsWith(".test.ts"))
    .sort();
  await esbuild.build({
    absWorkingDir: here,
    entryPoints: tests.map((f) => join("test", f)),
    outdir: out,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    jsx: "automatic",
    jsxImportSource: "preact",
    logLevel: "warning",
  });
  const files = readdirSync(out)
    .filter((f) => f.endsWith(".mjs"))
    .map((f) => join(out, f));
  const r = spawnSync(process.execPath, ["--test", ...files], { stdio: "inherit" });
  process.exitCode = r.status ?? 1;
} finally {
  rmSync(out, { recursive: true, force: true });
}
