import type { ComponentChildren } from "preact";

// Table is a styled table with a header row; rows are passed as children.
export function Table({
  headers,
  children,
  class: cls,
  testid,
}: {
  headers: ComponentChildren[];
  children: ComponentChildren;
  class?: string;
  testid?: string;
}) {
  return (
    <div class="table-wrap">
      <table class={`table ${cls ?? ""}`} data-testid={testid}>
        <thead>
          <tr>
            {headers.map((h, i) => (
              <th key={i}>{h}</th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

// HealthBadge renders a health or state word ("up", "down", "ok",
// "firing", ...) with the colour that goes with it.
export function HealthBadge({ value }: { value: string }) {
  const v = value.toLowerCase();
  let tone = "neutral";
  if (v === "up" || v === "ok" || v === "inactive") tone = "good";
  else if (v === "down" || v === "err" || v === "error" || v === "firing") tone = "bad";
  else if (v === "pending" || v === "unknown") tone = "warn";
  return <span class={`badge badge-${tone}`}>{value}</span>;
}
