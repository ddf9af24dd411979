import type { ComponentType } from "preact";
import { useEffect } from "preact/hooks";
import { useLocalStorage } from "./lib/hooks";
import { Link, navigate, pageURL, useLocation } from "./lib/router";
import QueryPage from "./pages/query";
import AlertsPage from "./pages/alerts";
import RulesPage from "./pages/rules";
import TargetsPage from "./pages/targets";
import ServiceDiscoveryPage from "./pages/service-discovery";
import StatusPage from "./pages/status";
import TSDBStatusPage from "./pages/tsdb-status";
import FlagsPage from "./pages/flags";
import ConfigPage from "./pages/config";

interface PageDef {
  route: string;
  title: string;
  component: ComponentType;
  // Pages under the Status menu rather than in the top bar.
  status?: boolean;
}

const pages: PageDef[] = [
  { route: "query", title: "Query", component: QueryPage },
  { route: "alerts", title: "Alerts", component: AlertsPage },
  { route: "rules", title: "Rules", component: RulesPage },
  { route: "targets", title: "Targets", component: TargetsPage },
  { route: "service-discovery", title: "Service discovery", component: ServiceDiscoveryPage },
  { route: "status", title: "Runtime & build", component: StatusPage, status: true },
  { route: "tsdb-status", title: "TSDB status", component: TSDBStatusPage, status: true },
  { route: "flags", title: "Flags", component: FlagsPage, status: true },
  { route: "config", title: "Configuration", component: ConfigPage, status: true },
];

type Theme = "light" | "dark" | "auto";

function applyTheme(theme: Theme) {
  const dark =
    theme === "dark" || (theme === "auto" && window.matchMedia?.("(prefers-color-scheme: dark)").matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
}

function ThemeToggle() {
  const [theme, setTheme] = useLocalStorage("vigil.theme", "auto");
  useEffect(() => {
    applyTheme(theme as Theme);
    if (theme !== "auto" || !window.matchMedia) return;
    // In "auto", follow the system when it switches.
    const mq = window.matchMedia("(prefers-color-scheme: dark)");
    const onChange = () => applyTheme("auto");
    mq.addEventListener("change", onChange);
    return () => mq.removeEventListener("change", onChange);
  }, [theme]);
  const next: Record<string, Theme> = { auto: "light", light: "dark", dark: "auto" };
  const label: Record<string, string> = { auto: "Theme: auto", light: "Theme: light", dark: "Theme: dark" };
  return (
    <button
      type="button"
      class="theme-toggle"
      data-testid="theme-toggle"
      title="Switch between light, dark and the system's theme"
      onClick={() => setTheme(next[theme] ?? "auto")}
    >
      {label[theme] ?? "Theme: auto"}
    </button>
  );
}

function NavBar({ page }: { page: string }) {
  return (
    <header class="navbar">
      <Link page="query" class="brand">
        Vigil
      </Link>
      <nav>
        {pages.map((p) => (
          <Link
            key={p.route}
            page={p.route}
            class={`nav-link${p.route === page ? " active" : ""}${p.status ? " nav-status" : ""}`}
            testid={`nav-${p.route}`}
          >
            {p.title}
          </Link>
        ))}
      </nav>
      <ThemeToggle />
    </header>
  );
}

function NotFound({ page }: { page: string }) {
  return (
    <div class="page" data-testid="page-not-found">
      <h1>Page not found</h1>
      <p>
        There is no page "{page}". Go to the <Link page="query">query page</Link>.
      </p>
    </div>
  );
}

export function App() {
  const { page, seq } = useLocation();
  useEffect(() => {
    if (page === "") navigate(pageURL("query"), true);
  }, [page]);
  const def = pages.find((p) => p.route === page);
  useEffect(() => {
    document.title = def ? `${def.title} - Vigil` : "Vigil";
  }, [def]);
  const Page = def?.component;
  return (
    <div class="app">
      <NavBar page={page} />
      <main class="main">{Page ? <Page key={seq} /> : page === "" ? null : <NotFound page={page} />}</main>
    </div>
  );
}
