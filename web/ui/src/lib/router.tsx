import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { routePrefix } from "./api";

// A tiny client-side router: the page is the path after the route prefix,
// links change it with history.pushState, and the back button works.

const listeners = new Set<() => void>();

// seq counts navigations, so a page can be rebuilt when the user goes to
// it again (a nav link to the current page starts it afresh).
let seq = 0;

function notify() {
  seq++;
  for (const l of listeners) l();
}

window.addEventListener("popstate", notify);

// currentPage returns the page route ("query", "targets", ...) of the
// current address, or "" when none.
export function currentPage(): string {
  const path = window.location.pathname.slice(routePrefix().length);
  return path.replace(/^\/+/, "").replace(/\/+$/, "");
}

// pageURL returns the address of a page, with an optional query string.
export function pageURL(page: string, search = ""): string {
  return `${routePrefix()}/${page}${search}`;
}

// navigate moves to a page without reloading.
export function navigate(url: string, replace = false) {
  if (replace) {
    window.history.replaceState(null, "", url);
  } else {
    window.history.pushState(null, "", url);
  }
  notify();
}

// useLocation re-renders the caller when the address changes and returns
// the current page and query string.
export function useLocation(): { page: string; search: string; seq: number } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const l = () => setTick((t) => t + 1);
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return { page: currentPage(), search: window.location.search, seq };
}

// Link is an anchor that navigates in place for plain left clicks and
// behaves as a normal link otherwise (new tab, copy address).
export function Link({
  page,
  search,
  children,
  class: cls,
  testid,
}: {
  page: string;
  search?: string;
  children: ComponentChildren;
  class?: string;
  testid?: string;
}) {
  const href = pageURL(page, search);
  return (
    <a
      href={href}
      class={cls}
      data-testid={testid}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </a>
  );
}
