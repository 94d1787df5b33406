// router.ts - pages by URL path (the server answers index.html for paths
// without a file): /, /accounts, /accounts/ID, ... History API, no library.
import { useEffect, useState } from "preact/hooks";

export function navigate(to: string): void {
  if (to === location.pathname + location.search) return;
  history.pushState(null, "", to);
  window.dispatchEvent(new Event("kizuna:navigate"));
}

export function useLocation(): { path: string; search: URLSearchParams } {
  const [, bump] = useState(0);
  useEffect(() => {
    const on = () => bump((n) => n + 1);
    window.addEventListener("popstate", on);
    window.addEventListener("kizuna:navigate", on);
    return () => {
      window.removeEventListener("popstate", on);
      window.removeEventListener("kizuna:navigate", on);
    };
  }, []);
  return { path: location.pathname, search: new URLSearchParams(location.search) };
}

/* A link that moves without reloading the page (a plain link for new tabs). */
export function onLink(e: MouseEvent): void {
  const a = (e.currentTarget as HTMLAnchorElement | null) ?? null;
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(a.getAttribute("href") ?? "/");
}
