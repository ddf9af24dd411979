// Query history, newest first, kept in localStorage so it survives
// reloads; each browser has its own.

const key = "vigil.queryHistory";
const maxEntries = 50;

export function loadHistory(): string[] {
  try {
    const v = JSON.parse(window.localStorage.getItem(key) ?? "[]");
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}

// addToHistory records an executed expression and returns the new list.
export function addToHistory(expr: string): string[] {
  const e = expr.trim();
  const list = loadHistory();
  if (e === "") return list;
  const next = [e, ...list.filter((x) => x !== e)].slice(0, maxEntries);
  try {
    window.localStorage.setItem(key, JSON.stringify(next));
  } catch {
    // Storage can be full or disabled; history then lasts for this page.
  }
  return next;
}

export function clearHistory() {
  try {
    window.localStorage.removeItem(key);
  } catch {
    // Nothing to clear when storage is disabled.
  }
}
