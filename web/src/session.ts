// session.ts - who is logged in, and how numbers are shown to them.
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Me } from "./api";
import { formatter, type Fmt } from "./format";

export interface Session {
  me: Me;
  currency: string;
  fmt: Fmt;
  /* may change data (not a viewer) */
  canEdit: boolean;
  isAdmin: boolean;
}

export const SessionContext = createContext<Session>({
  me: { name: "", role: "viewer", csrf: null },
  currency: "USD",
  fmt: formatter("en", "USD"),
  canEdit: false,
  isAdmin: false,
});

export function useSession(): Session {
  return useContext(SessionContext);
}
