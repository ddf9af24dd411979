// Loading is the placeholder while a request is in flight.
export function Loading({ what }: { what?: string }) {
  return (
    <div class="loading" aria-busy="true">
      <span class="spinner" />
      {what ? `Loading ${what}…` : "Loading…"}
    </div>
  );
}
