import type { ComponentChildren } from "preact";

// ErrorBox shows an error message as text, with an optional title.
export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  const msg = error instanceof Error ? error.message : String(error);
  return (
    <div class="alert alert-error" role="alert" data-testid="error">
      {title ? <strong>{title}: </strong> : null}
      {msg}
    </div>
  );
}

// Notice shows a warning or informational message.
export function Notice({ kind, children }: { kind: "warning" | "info"; children: ComponentChildren }) {
  return (
    <div class={`alert alert-${kind}`} role="status">
      {children}
    </div>
  );
}
