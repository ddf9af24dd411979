// Builds the web UI into internal/web/ui/dist, which the Go binary embeds.
// The output is committed and CI rebuilds it to compare, so everything here
// must be deterministic: no timestamps, no content hashes in names, no
// absolute paths, a fixed target.
import * as esbuild from "esbuild";
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = join(here, "..", "..", "internal", "web", "ui", "dist");

// Start clean so a file dropped from the build does not linger in dist.
rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: { app: "src/main.tsx" },
  outdir,
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "none",
  sourcemap: false,
  charset: "utf8",
  loader: { ".woff2": "file", ".svg": "file", ".png": "file" },
  assetNames: "[name]",
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
  metafile: true,
});

copyFileSync(join(here, "index.html"), join(outdir, "index.html"));
// Static files (the favicon) are served from assets/ as they are.
for (const f of readdirSync(join(here, "public")).sort()) {
  copyFileSync(join(here, "public", f), join(outdir, f));
}

if (result.warnings.length > 0) {
  process.exitCode = 1;
}
for (const f of readdirSync(outdir).sort()) {
  const bytes = result.metafile.outputs[`${join("..", "..", "internal", "web", "ui", "dist", f)}`]?.bytes;
  console.log(`dist/${f}${bytes ? ` ${bytes} bytes` : ""}`);
}
