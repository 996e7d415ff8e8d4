// The local stack's OpenID Connect provider: panva's node-oidc-provider (a certified implementation),
// configured for Daiko's portal. Started by devstack/oidc.py; never part of a production deployment.
//
// - issuer OIDC_ISSUER (default http://127.0.0.1:8100/oidc: behind the edge, on the portal's origin),
//   listening on OIDC_HOST (127.0.0.1):OIDC_PORT under the issuer's path;
// - one public client, `daiko-portal`: authorization code + PKCE (S256), no secret, redirect URI
//   OIDC_REDIRECT_URIS (comma-separated; default http://127.0.0.1:8100/auth/callback);
// - access tokens are JWTs (RS256) for the resource `urn:daiko:api` with audience OIDC_AUDIENCE
//   (default `daiko`), carrying `sub` and the `role` claim the services read;
// - development users: sign in on the provider's own development login page (devInteractions) with
//   one of the ids below and any password.
// Its signing key and cookie keys are generated once into OIDC_STATE_DIR, so tokens and sessions
// survive a restart of the provider.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

import Provider from 'oidc-provider';

const env = process.env;
const port = Number(env.OIDC_PORT || 8105);
const host = env.OIDC_HOST || '127.0.0.1';
const issuer = env.OIDC_ISSUER || 'http://127.0.0.1:8100/oidc';
const audience = env.OIDC_AUDIENCE || 'daiko';
const redirectUris = (env.OIDC_REDIRECT_URIS || 'http://127.0.0.1:8100/auth/callback').split(',');
const stateDir = env.OIDC_STATE_DIR || join(process.cwd(), '.state');
const RESOURCE = 'urn:daiko:api';
const RESOURCE_SCOPE = 'daiko';

// The development users: `sub` is the id, `role` what the services authorize on.
const USERS = {
  'cust-1': { role: 'customer', name: 'Customer One' },
  'cust-2': { role: 'customer', name: 'Customer Two' },
  'staff-1': { role: 'staff', name: 'Staff One' },
};

function keys() {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = join(stateDir, 'keys.json');
  if (!existsSync(file)) {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: randomBytes(8).toString('hex') };
    writeFileSync(file, JSON.stringify({ jwks: [jwk], cookies: [randomBytes(32).toString('hex')] }), { mode: 0o600 });
  }
  return JSON.parse(readFileSync(file, 'utf8'));
}

const stored = keys();

const configuration = {
  clients: [
    {
      client_id: 'daiko-portal',
      client_name: 'Daiko portal',
      token_endpoint_auth_method: 'none',
      application_type: 'web',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: redirectUris,
      post_logout_redirect_uris: redirectUris.map((uri) => new URL('/', uri).href),
    },
  ],
  pkce: { required: () => true },
  jwks: { keys: stored.jwks },
  cookies: { keys: stored.cookies },
  scopes: ['openid', 'profile', 'offline_access', RESOURCE_SCOPE],
  claims: { openid: ['sub'], profile: ['name', 'role'] },
  features: {
    devInteractions: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // The portal asks for no resource by name: every token is for the Daiko API.
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resourceIndicator) => {
        if (resourceIndicator !== RESOURCE) throw new Provider.errors.InvalidTarget();
        return {
          scope: RESOURCE_SCOPE,
          audience,
          accessTokenTTL: 60 * 60,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
    rpInitiatedLogout: { enabled: true },
  },
  async findAccount(_ctx, id) {
    const user = USERS[id];
    if (!user) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, name: user.name, role: user.role }) };
  },
  // The services authorize on `role`: it travels in the JWT access token itself.
  async extraTokenClaims(_ctx, token) {
    const user = USERS[token.accountId];
    return user ? { role: user.role } : undefined;
  },
  ttl: { AccessToken: 60 * 60, AuthorizationCode: 60, IdToken: 60 * 60, RefreshToken: 24 * 60 * 60 },
};

const provider = new Provider(issuer, configuration);
provider.proxy = true; // behind the edge: X-Forwarded-Proto/Host say how the browser reached it

const mount = new URL(issuer).pathname.replace(/\/$/, '');
const callback = provider.callback();
createServer((req, res) => {
  if (mount && !(req.url === mount || req.url.startsWith(`${mount}/`) || req.url.startsWith(`${mount}?`))) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not under the issuer path\n');
    return;
  }
  // As express's app.use(mount, ...) does: the provider sees paths below the issuer's.
  req.originalUrl = req.url;
  req.url = req.url.slice(mount.length) || '/';
  callback(req, res);
}).listen(port, host, () => {
  console.log(`oidc-provider: issuer ${issuer} on ${host}:${port}, users ${Object.keys(USERS).join(', ')}`);
});
