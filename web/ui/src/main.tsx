import { render } from "preact";
import { App } from "./app";
import "./styles.css";

// Apply the stored theme before the first paint to avoid a light flash.
try {
  const t = window.localStorage.getItem("vigil.theme") ?? "auto";
  const dark = t === "dark" || (t === "auto" && window.matchMedia?.("(prefers-color-scheme: dark)").matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
} catch {
  document.documentElement.dataset.theme = "light";
}

render(<App />, document.getElementById("app")!);
