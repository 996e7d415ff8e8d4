// Who is signed in: the bearer token and the identity read from it. The services verify the token; the
// portal only reads its claims to choose the customer or the staff pages (never to grant anything).

export type Role = "customer" | "staff";

export interface Identity {
  subject: string;
  role: Role;
  expiresAt: number; // epoch seconds
}

const STORAGE = "daiko.session";
type Listener = () => void;
const listeners = new Set<Listener>();

interface Stored {
  token: string;
  identity: Identity;
  via: "dev" | "oidc";
}

let stored: Stored | null = load();

function load(): Stored | null {
  const raw = sessionStorage.getItem(STORAGE);
  if (!raw) return null;
  try {
    const value = JSON.parse(raw) as Stored;
    return value.identity.expiresAt * 1000 > Date.now() ? value : null;
  } catch {
    return null;
  }
}

/** The claims of a JWT (unverified: the services verify it, the portal only picks pages by the role). */
export function identityOf(token: string): Identity {
  const payload = token.split(".")[1];
  if (!payload) throw new Error("not a JWT");
  const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
  const claims = JSON.parse(json) as { sub?: string; role?: string; exp?: number };
  const role: Role = claims.role === "staff" ? "staff" : "customer";
  return { subject: claims.sub ?? "", role, expiresAt: claims.exp ?? Math.floor(Date.now() / 1000) + 3600 };
}

export function signIn(token: string, via: "dev" | "oidc"): Identity {
  const identity = identityOf(token);
  stored = { token, identity, via };
  sessionStorage.setItem(STORAGE, JSON.stringify(stored));
  listeners.forEach((listener) => { listener(); });
  return identity;
}

export function signOut(): void {
  stored = null;
  sessionStorage.removeItem(STORAGE);
  listeners.forEach((listener) => { listener(); });
}

let expiredNotice = false;
/** A 401 from a service: the token is no longer good, so the user signs in again. */
export function signOutExpired(): void {
  if (stored) {
    expiredNotice = true;
    signOut();
  }
}
export function takeExpiredNotice(): boolean {
  const was = expiredNotice;
  expiredNotice = false;
  return was;
}

export function currentToken(): string | null {
  return stored?.token ?? null;
}
export function currentIdentity(): Identity | null {
  return stored?.identity ?? null;
}
export function signedInVia(): "dev" | "oidc" | null {
  return stored?.via ?? null;
}

export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
