import { useEffect, useState } from "preact/hooks";

// useNow returns the current time and re-renders the caller every
// intervalMs, so that "12s ago" keeps counting.
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = window.setInterval(() => setNow(Date.now()), intervalMs);
    return () => window.clearInterval(id);
  }, [intervalMs]);
  return now;
}

// useAutoRefresh calls reload every intervalMs while enabled and the tab
// is visible.
export function useAutoRefresh(enabled: boolean, intervalMs: number, reload: () => void) {
  useEffect(() => {
    if (!enabled) return;
    const id = window.setInterval(() => {
      if (document.visibilityState === "visible") reload();
    }, intervalMs);
    return () => window.clearInterval(id);
  }, [enabled, intervalMs, reload]);
}
