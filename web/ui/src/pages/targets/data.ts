// Shapes of /api/v1/targets and the grouping and filtering that the
// Targets and Service discovery pages share.
import type { Labels } from "../../lib/api";

export interface ActiveTarget {
  discoveredLabels: Labels;
  labels: Labels;
  scrapePool: string;
  scrapeUrl: string;
  globalUrl: string;
  lastError: string;
  lastScrape: string;
  lastScrapeDuration: number;
  health: "up" | "down" | "unknown" | string;
  scrapeInterval: string;
  scrapeTimeout: string;
}

export interface DroppedTarget {
  discoveredLabels: Labels;
  scrapePool: string;
}

export interface TargetDiscovery {
  activeTargets: ActiveTarget[];
  droppedTargets: DroppedTarget[];
  droppedTargetCounts: Record<string, number>;
}

// groupByPool returns the items per scrape pool, pools in name order and
// items in the server's order.
export function groupByPool<T extends { scrapePool: string }>(items: T[]): [string, T[]][] {
  const m = new Map<string, T[]>();
  for (const it of items) {
    let l = m.get(it.scrapePool);
    if (!l) {
      l = [];
      m.set(it.scrapePool, l);
    }
    l.push(it);
  }
  return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

// labelText is a label set as the text a search matches against.
export function labelText(ls: Labels | undefined): string {
  return Object.entries(ls ?? {})
    .map(([k, v]) => `${k}="${v}"`)
    .join(" ");
}

// matchesSearch reports whether every word of the search occurs, case
// blind, in one of the texts.
export function matchesSearch(search: string, ...texts: string[]): boolean {
  const words = search.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const hay = texts.join("\n").toLowerCase();
  return words.every((w) => hay.includes(w));
}

// safeHref returns u when it is an http(s) URL, so that a target's URL
// can be a link without a "javascript:" address ever becoming one.
export function safeHref(u: string): string | undefined {
  try {
    const p = new URL(u, window.location.href);
    return p.protocol === "http:" || p.protocol === "https:" ? p.href : undefined;
  } catch {
    return undefined;
  }
}

// timeMs parses an API time; the zero time of Go ("0001-01-01...") and an
// unparsable one come back as 0, which formatRelative shows as "never".
export function timeMs(s: string | undefined): number {
  if (!s) return 0;
  const t = Date.parse(s);
  return Number.isFinite(t) && t > 0 ? t : 0;
}
