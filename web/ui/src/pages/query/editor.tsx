// The PromQL expression editor: CodeMirror 6 with the PromQL language,
// linting and completion from @prometheus-io/codemirror-promql, the
// completion asking this server's API for metric names, labels, values
// and metadata.

import { autocompletion, closeBrackets, closeBracketsKeymap, completionKeymap, completionStatus } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap, insertNewlineAndIndent } from "@codemirror/commands";
import { bracketMatching, HighlightStyle, indentOnInput, syntaxHighlighting } from "@codemirror/language";
import { lintKeymap } from "@codemirror/lint";
import { EditorState, Prec } from "@codemirror/state";
import { drawSelection, EditorView, highlightSpecialChars, keymap, placeholder } from "@codemirror/view";
import { tags } from "@lezer/highlight";
import { PromQLExtension } from "@prometheus-io/codemirror-promql";
import { useEffect, useRef } from "preact/hooks";
import { routePrefix } from "../../lib/api";

// One PromQL extension serves all panels, so its completion cache (metric
// names, metadata) is shared.
let promql: PromQLExtension | undefined;

function promqlExtension(): PromQLExtension {
  if (!promql) {
    promql = new PromQLExtension().setComplete({
      remote: {
        url: routePrefix(),
        httpMethod: "GET",
        // Label names and values seen in the last 12 hours, as Prometheus
        // does, keep suggestions relevant and requests cheap.
        lookbackInterval: 12 * 3600 * 1000,
        cache: { maxAge: 5 * 60 * 1000 },
        httpErrorHandler: (err: unknown) => {
          if (err instanceof DOMException && err.name === "AbortError") return;
          console.warn("PromQL completion request failed:", err);
        },
      },
      maxMetricsMetadata: 10000,
    });
  }
  return promql;
}

// Colours come from CSS variables so the theme switch needs no rebuild of
// the editor.
const highlight = HighlightStyle.define([
  { tag: tags.keyword, color: "var(--hl-keyword)" },
  { tag: tags.operatorKeyword, color: "var(--hl-keyword)" },
  { tag: tags.modifier, color: "var(--hl-keyword)" },
  { tag: tags.logicOperator, color: "var(--hl-keyword)" },
  { tag: tags.function(tags.variableName), color: "var(--hl-function)" },
  { tag: tags.variableName, color: "var(--hl-metric)" },
  { tag: tags.labelName, color: "var(--hl-label)" },
  { tag: tags.string, color: "var(--hl-string)" },
  { tag: tags.number, color: "var(--hl-number)" },
  { tag: [tags.operator, tags.arithmeticOperator], color: "var(--hl-operator)" },
  { tag: tags.comment, color: "var(--hl-comment)", fontStyle: "italic" },
]);

const editorTheme = EditorView.theme({
  "&": {
    background: "var(--bg)",
    color: "var(--fg)",
    border: "1px solid var(--border)",
    borderRadius: "4px",
    fontSize: "14px",
  },
  "&.cm-focused": { outline: "2px solid var(--accent)", outlineOffset: "-1px" },
  ".cm-content": {
    fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace',
    padding: "7px 0",
    caretColor: "var(--fg)",
  },
  ".cm-line": { padding: "0 10px" },
  ".cm-cursor": { borderLeftColor: "var(--fg)" },
  ".cm-placeholder": { color: "var(--fg-muted)" },
  "&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection": {
    background: "var(--bg-hover)",
  },
  ".cm-matchingBracket": { background: "var(--bg-hover)", outline: "1px solid var(--border)" },
  ".cm-tooltip": {
    background: "var(--bg)",
    color: "var(--fg)",
    border: "1px solid var(--border)",
    boxShadow: "var(--shadow)",
  },
  ".cm-tooltip-autocomplete > ul": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace" },
  ".cm-tooltip-autocomplete > ul > li[aria-selected]": { background: "var(--accent)", color: "var(--accent-fg)" },
  ".cm-completionDetail": { color: "var(--fg-muted)", fontStyle: "normal", marginLeft: "8px" },
  ".cm-completionInfo": { maxWidth: "420px", whiteSpace: "pre-wrap" },
  ".cm-diagnostic-error": { borderLeftColor: "var(--bad)" },
});

export interface EditorProps {
  value: string;
  onChange: (v: string) => void;
  onExecute: () => void;
  autofocus?: boolean;
}

// ExpressionEditor is uncontrolled inside (CodeMirror owns the document)
// and takes a new value from outside only when it differs, such as a
// history entry being picked.
export function ExpressionEditor({ value, onChange, onExecute, autofocus }: EditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  // Callbacks in refs, so the editor built once always calls the latest.
  const cbs = useRef({ onChange, onExecute });
  cbs.current = { onChange, onExecute };
  // The newest text, whether it came from a render or from the editor
  // itself. Preact runs an effect left from one render at the start of
  // the next, so the effect below must not trust its own `value`: typing
  // fast would make editor and panel swap two texts forever.
  const latest = useRef(value);
  latest.current = value;

  useEffect(() => {
    const execKeys = Prec.highest(
      keymap.of([
        {
          key: "Enter",
          run: (v) => {
            // With the completion list open, Enter picks the completion.
            if (completionStatus(v.state) === "active") return false;
            cbs.current.onExecute();
            return true;
          },
        },
        { key: "Shift-Enter", run: insertNewlineAndIndent },
      ]),
    );
    const state = EditorState.create({
      doc: value,
      extensions: [
        execKeys,
        highlightSpecialChars(),
        history(),
        drawSelection(),
        indentOnInput(),
        bracketMatching(),
        closeBrackets(),
        autocompletion(),
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap, ...lintKeymap]),
        placeholder("Expression (press Shift+Enter for newlines)"),
        syntaxHighlighting(highlight),
        editorTheme,
        EditorView.lineWrapping,
        promqlExtension().asExtension(),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) {
            latest.current = u.state.doc.toString();
            cbs.current.onChange(latest.current);
          }
        }),
        EditorView.contentAttributes.of({ "aria-label": "PromQL expression" }),
      ],
    });
    const v = new EditorView({ state, parent: host.current! });
    view.current = v;
    if (autofocus) v.focus();
    return () => {
      v.destroy();
      view.current = null;
    };
    // The editor is built once; value changes arrive in the next effect.
  }, []);

  useEffect(() => {
    const v = view.current;
    const want = latest.current;
    if (v && v.state.doc.toString() !== want) {
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: want } });
    }
  }, [value]);

  return <div class="query-editor" data-testid="query-editor" ref={host} />;
}
