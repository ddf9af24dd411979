// The query page: any number of panels, each an expression with a Table
// and a Graph tab. The panels' state is mirrored into the address so a
// link reproduces the view; the app shell rebuilds the page on back and
// forward, which re-reads the address.

import { useEffect, useState } from "preact/hooks";
import { addToHistory, clearHistory, loadHistory } from "./query/history";
import { Panel } from "./query/panel";
import { newPanel, parsePanels, serializePanels, type PanelState } from "./query/state";
import "./query/query.css";

export default function QueryPage() {
  const [panels, setPanels] = useState<PanelState[]>(() => parsePanels(window.location.search));
  const [history, setHistory] = useState<string[]>(loadHistory);

  // Mirror the state into the address without adding history entries for
  // every keystroke-level change.
  useEffect(() => {
    const search = serializePanels(panels);
    if (search !== window.location.search) {
      window.history.replaceState(null, "", window.location.pathname + search);
    }
  }, [panels]);

  const update = (key: number, patch: Partial<PanelState>) =>
    setPanels((ps) => ps.map((p) => (p.key === key ? { ...p, ...patch } : p)));

  return (
    <div class="page query-page" data-testid="page-query">
      {panels.map((p, i) => (
        <Panel
          key={p.key}
          state={p}
          onChange={(patch) => update(p.key, patch)}
          onRemove={panels.length > 1 ? () => setPanels((ps) => ps.filter((x) => x.key !== p.key)) : undefined}
          onExecuted={(expr) => setHistory(addToHistory(expr))}
          history={history}
          autofocus={i === 0 && p.expr === ""}
        />
      ))}
      <div class="query-page-actions">
        <button type="button" data-testid="add-panel" onClick={() => setPanels((ps) => [...ps, newPanel()])}>
          Add panel
        </button>
        {history.length > 0 ? (
          <button
            type="button"
            title="Forget the query history kept in this browser"
            onClick={() => {
              clearHistory();
              setHistory([]);
            }}
          >
            Clear history
          </button>
        ) : null}
      </div>
    </div>
  );
}
