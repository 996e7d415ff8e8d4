// Production sign-in: OIDC authorization code with PKCE (oidc-client-ts) against the agency's identity
// provider named in /config.json. The access token is what the services verify (JWKS, `role` claim).
import { UserManager, WebStorageStateStore } from "oidc-client-ts";
import type { PortalConfig } from "../config";

let manager: UserManager | null = null;

export function oidcManager(config: PortalConfig): UserManager | null {
  if (!config.oidc) return null;
  manager ??= new UserManager({
    authority: config.oidc.issuer,
    client_id: config.oidc.client_id,
    scope: config.oidc.scope,
    redirect_uri: `${window.location.origin}/auth/callback`,
    post_logout_redirect_uri: `${window.location.origin}/sign-in`,
    response_type: "code",
    userStore: new WebStorageStateStore({ store: window.sessionStorage }),
  });
  return manager;
}
