import type { Labels } from "../lib/api";

// LabelBadges renders a label set as a row of name="value" badges. Values
// are always text nodes: a label value is data from a scraped target and
// must never become markup.
export function LabelBadges({ labels, omit }: { labels: Labels | undefined; omit?: string[] }) {
  const names = Object.keys(labels ?? {})
    .filter((n) => !omit?.includes(n))
    .sort();
  if (names.length === 0) {
    return <span class="muted">none</span>;
  }
  return (
    <span class="label-badges">
      {names.map((n) => (
        <span class="label-badge" key={n}>
          <span class="label-name">{n}</span>=<span class="label-value">"{labels![n]}"</span>
        </span>
      ))}
    </span>
  );
}

// formatLabelSet renders a series' labels in PromQL selector form:
// name{a="x", b="y"}; used where a single line of text is wanted.
export function formatLabelSet(labels: Labels | undefined): string {
  const l = labels ?? {};
  const name = l.__name__ ?? "";
  const rest = Object.keys(l)
    .filter((n) => n !== "__name__")
    .sort()
    .map((n) => `${n}=${JSON.stringify(l[n])}`);
  if (rest.length === 0) return name || "{}";
  return `${name}{${rest.join(", ")}}`;
}
