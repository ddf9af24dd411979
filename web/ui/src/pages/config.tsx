// Configuration: the loaded configuration as YAML (secrets are hidden by
// the server), with a button that copies it.
import { useState } from "preact/hooks";
import { ErrorBox } from "../components/ErrorBox";
import { Loading } from "../components/Loading";
import { useApi } from "../lib/hooks";
import "./targets/common.css";
import "./status.css";

// copyText copies with the Clipboard API and falls back to a selected
// hidden text area, which works on plain-HTTP pages where the API is
// missing.
async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const ta = document.createElement("textarea");
  ta.value = text;
  ta.setAttribute("readonly", "");
  ta.style.position = "fixed";
  ta.style.opacity = "0";
  document.body.appendChild(ta);
  ta.select();
  const ok = document.execCommand("copy");
  document.body.removeChild(ta);
  if (!ok) throw new Error("the browser refused to copy");
}

export default function ConfigPage() {
  const { data, error, loading } = useApi<{ yaml: string }>("/api/v1/status/config");
  const [note, setNote] = useState("");
  const copy = () => {
    if (!data) return;
    copyText(data.yaml)
      .then(() => setNote("Copied to the clipboard."))
      .catch((e: unknown) => setNote(`Could not copy: ${e instanceof Error ? e.message : String(e)}`));
  };
  return (
    <div class="page config-page" data-testid="page-config" aria-busy={loading && !data ? "true" : undefined}>
      <h1>Configuration</h1>
      <div class="toolbar">
        <button type="button" data-testid="copy-config" onClick={copy} disabled={!data}>
          Copy to clipboard
        </button>
        {note ? <span class="muted copy-note">{note}</span> : null}
      </div>
      {error ? <ErrorBox error={error} title="Could not load the configuration" /> : null}
      {loading && !data ? <Loading what="configuration" /> : null}
      {data ? (
        <pre class="config-yaml" data-testid="config-yaml">
          {data.yaml}
        </pre>
      ) : null}
    </div>
  );
}
