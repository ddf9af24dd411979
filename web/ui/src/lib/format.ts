// Formatting of durations, timestamps and numbers, shared by all pages.

const durationUnits: [string, number][] = [
  ["y", 365 * 24 * 3600 * 1000],
  ["w", 7 * 24 * 3600 * 1000],
  ["d", 24 * 3600 * 1000],
  ["h", 3600 * 1000],
  ["m", 60 * 1000],
  ["s", 1000],
  ["ms", 1],
];

// formatDuration renders milliseconds as a Prometheus duration ("1h30m",
// "15s", "250ms"); 0 renders as "0s".
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms === 0) return "0s";
  let rest = Math.round(Math.abs(ms));
  let out = ms < 0 ? "-" : "";
  for (const [unit, size] of durationUnits) {
    if (rest >= size) {
      const n = Math.floor(rest / size);
      rest -= n * size;
      out += `${n}${unit}`;
    }
  }
  return out;
}

// parseDuration parses a Prometheus duration ("5m", "1h30m", "250ms") into
// milliseconds; it returns null for anything else.
export function parseDuration(s: string): number | null {
  s = s.trim();
  if (s === "") return null;
  if (s === "0") return 0;
  const re = /(\d+)(ms|y|w|d|h|m|s)/y;
  let total = 0;
  let pos = 0;
  const sizes: Record<string, number> = Object.fromEntries(durationUnits);
  while (pos < s.length) {
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) return null;
    total += parseInt(m[1], 10) * sizes[m[2]];
    pos = re.lastIndex;
  }
  return total;
}

// formatSeconds renders a duration given in (fractional) seconds, such as
// a scrape duration, with a unit that suits its size.
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return String(s);
  if (s === 0) return "0s";
  const a = Math.abs(s);
  if (a < 1e-3) return `${(s * 1e6).toFixed(0)}µs`;
  if (a < 1) return `${(s * 1e3).toFixed(a < 0.01 ? 2 : 1)}ms`;
  if (a < 60) return `${s.toFixed(3).replace(/\.?0+$/, "")}s`;
  return formatDuration(s * 1000);
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

// formatTimestamp renders a time (ms since the epoch) in UTC as
// "2006-01-02 15:04:05.000Z"; milliseconds are left out when zero.
export function formatTimestamp(ms: number): string {
  if (!Number.isFinite(ms)) return "";
  const d = new Date(ms);
  const base =
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  const msPart = d.getUTCMilliseconds();
  return msPart ? `${base}.${pad(msPart, 3)}Z` : `${base}Z`;
}

// parseTimestamp accepts what formatTimestamp writes, RFC 3339, or a Unix
// time in seconds; it returns ms since the epoch or null.
export function parseTimestamp(s: string): number | null {
  s = s.trim();
  if (s === "") return null;
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(parseFloat(s) * 1000);
  let iso = s.replace(" ", "T");
  if (!/[zZ]|[+-]\d\d:?\d\d$/.test(iso)) iso += "Z";
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

// formatRelative renders how long ago a time (ms) was, such as "12.3s ago".
export function formatRelative(ms: number, now = Date.now()): string {
  if (!Number.isFinite(ms) || ms <= 0) return "never";
  const d = now - ms;
  if (d < 0) return `in ${formatDuration(-d)}`;
  if (d < 60_000) return `${(d / 1000).toFixed(1)}s ago`;
  return `${formatDuration(Math.floor(d / 1000) * 1000)} ago`;
}

// formatNumber renders a sample value the way Prometheus prints it, with
// the special values spelled out.
export function formatNumber(v: number | string): string {
  if (typeof v === "string") return v;
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

const siPrefixes: [number, string][] = [
  [1e18, "E"],
  [1e15, "P"],
  [1e12, "T"],
  [1e9, "G"],
  [1e6, "M"],
  [1e3, "k"],
];

// humanize renders a number compactly with an SI prefix ("1.5M", "320k",
// "0.25"), for axes and statistics.
export function humanize(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return formatNumber(v);
  const a = Math.abs(v);
  for (const [size, p] of siPrefixes) {
    if (a >= size) return `${+(v / size).toPrecision(digits)}${p}`;
  }
  if (a === 0) return "0";
  if (a < 1e-3) return v.toExponential(digits - 1);
  return `${+v.toPrecision(digits)}`;
}

// humanizeBytes renders a byte count with binary prefixes ("1.5MiB").
export function humanizeBytes(v: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  let x = v;
  while (Math.abs(x) >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${i === 0 ? x : +x.toPrecision(3)}${units[i]}`;
}

// formatCount renders an integer with thousands separators.
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}
