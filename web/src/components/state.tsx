// state.tsx - what a page shows while its data comes, when it failed, and
// when it computed its numbers from data up to when.
import type { ComponentChildren } from "preact";
import type { ApiError } from "../api";
import { useI18n } from "../i18n";
import { useSession } from "../session";

export function Loading() {
  const { t } = useI18n();
  return (
    <p class="state" role="status" aria-live="polite">
      {t("state.loading")}
    </p>
  );
}

export function Failed({ error, retry }: { error: ApiError; retry?: () => void }) {
  const { t } = useI18n();
  return (
    <div class="state error" role="alert">
      <p>{t("state.error", { message: error.message })}</p>
      {retry && (
        <button type="button" onClick={retry}>
          {t("state.retry")}
        </button>
      )}
    </div>
  );
}

/* "Computed 2 Dec 2026, 17:29 · data up to 31 Oct 2026" */
export function Freshness({ computed, dataTo }: { computed?: string | null; dataTo?: string | null }) {
  const { t } = useI18n();
  const { fmt } = useSession();
  const parts: string[] = [];
  if (computed) parts.push(t("fresh.computed", { at: fmt.time(computed) }));
  if (dataTo) parts.push(t("fresh.data_to", { day: fmt.date(dataTo) }));
  if (!parts.length) return null;
  return <p class="freshness">{parts.join(" · ")}</p>;
}

export function Section({ title, children, id }: { title: string; children: ComponentChildren; id?: string }) {
  return (
    <section class="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}
