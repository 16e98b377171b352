// A real OpenID provider on loopback for hawk-dagster's sign-in tests: node's oidc-provider, configured the way a
// team's identity provider would be for `hawk login` (public device-flow client, rotating refresh tokens, JWT access
// tokens for the API's audience carrying a `permissions` claim).
//
// Started by tests/auth/oidc_provider.py with its settings in the environment:
//   OIDC_PORT            loopback port to listen on (the issuer is http://127.0.0.1:<port>)
//   OIDC_AUDIENCE        the API's resource indicator (the `aud` of access tokens)
//   OIDC_CLIENT_ID       the public device-flow client (what `hawk login` uses)
//   OIDC_ADMIN_SECRET    secret of the test-only parts: the /admin endpoints and the test-issue client
//   OIDC_POLL_INTERVAL   seconds between device-flow polls (told to the client; faster polls get `slow_down`)
//   OIDC_WEB_CLIENT_ID, OIDC_WEB_CLIENT_SECRET
//                        the confidential web client of `hawk serve`'s browser sign-in (authorization code + PKCE,
//                        refresh tokens). A native-type client, so its loopback redirect URIs match any port
//                        (RFC 8252 §7.3): test servers listen on free ports chosen at run time.
//
// Test-only parts, never part of a real deployment's provider:
//   - client `hawk-test-issuer` (client_secret = OIDC_ADMIN_SECRET) with grant `urn:hawk:test:issue`
//     (params `subject`, `permissions` space separated): the provider issues and signs an access token for that
//     account with its own keys, as it does for the device flow, without a browser.
//   - PUT  /admin/accounts/<sub>   {"permissions": [...], "email": ..., "access_token_ttl": s, "refresh_token_ttl": s}
//   - POST /admin/rotate-keys      {"keep_old": true}: a new signing key, published first and used from now on.
//   (both with `Authorization: Bearer <OIDC_ADMIN_SECRET>`)
//   Login at the development interactions accepts any password; the login name is the subject.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import http from 'node:http';

import Provider, { errors } from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const audience = process.env.OIDC_AUDIENCE || 'https://hawk.test/api';
const clientId = process.env.OIDC_CLIENT_ID || 'hawk-cli';
const adminSecret = process.env.OIDC_ADMIN_SECRET;
const pollInterval = Number(process.env.OIDC_POLL_INTERVAL || '5');
const webClientId = process.env.OIDC_WEB_CLIENT_ID || 'hawk-web';
const webClientSecret = process.env.OIDC_WEB_CLIENT_SECRET;
const TEST_GRANT = 'urn:hawk:test:issue';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
if (!port || !adminSecret || !webClientSecret) {
  console.error('OIDC_PORT, OIDC_ADMIN_SECRET and OIDC_WEB_CLIENT_SECRET are required');
  process.exit(2);
}

/** Accounts by subject; unknown subjects who sign in get no permissions. */
const accounts = new Map();

function account(sub) {
  if (!accounts.has(sub)) accounts.set(sub, { permissions: [] });
  return accounts.get(sub);
}

function newSigningKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

/** Newest first: oidc-provider signs with the first key that fits. */
let signingKeys = [newSigningKey()];

function resourceServerInfo() {
  return {
    scope: 'hawk',
    audience,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'RS256' } },
  };
}

function configuration() {
  return {
    clients: [
      {
        client_id: clientId,
        client_name: 'hawk CLI',
        token_endpoint_auth_method: 'none',
        application_type: 'native',
        grant_types: [DEVICE_GRANT, 'refresh_token'],
        response_types: [],
        redirect_uris: [],
      },
      {
        client_id: webClientId,
        client_secret: webClientSecret,
        client_name: 'hawk results pages',
        token_endpoint_auth_method: 'client_secret_basic',
        application_type: 'native',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/auth/callback'],
        post_logout_redirect_uris: ['http://127.0.0.1/auth/signed-out'],
      },
      {
        client_id: 'hawk-test-issuer',
        client_secret: adminSecret,
        grant_types: [TEST_GRANT],
        response_types: [],
        redirect_uris: [],
      },
    ],
    jwks: { keys: signingKeys },
    cookies: { keys: [adminSecret] },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'hawk'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username', 'name'],
    },
    async findAccount(ctx, sub) {
      const acc = account(sub);
      return {
        accountId: sub,
        async claims() {
          return {
            sub,
            email: acc.email || `${sub}@hawk.test`,
            email_verified: true,
            preferred_username: sub,
          };
        },
      };
    },
    // The permissions claim of JWT access tokens, from the account as it is when the token is issued (so a
    // refresh after a change of permissions carries the new ones, as with a real directory).
    async extraTokenClaims(ctx, token) {
      if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
      const acc = account(token.accountId);
      return {
        permissions: [...acc.permissions],
        email: acc.email || `${token.accountId}@hawk.test`,
        preferred_username: token.accountId,
      };
    },
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        async getResourceServerInfo(ctx, resourceIndicator) {
          if (resourceIndicator !== audience) {
            throw new errors.InvalidTarget(`unknown resource ${resourceIndicator}`);
          }
          return resourceServerInfo();
        },
      },
    },
    // Every refresh hands out a new refresh token and retires the old one (the CLI must keep the new one).
    rotateRefreshToken: true,
    issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token')
      && code.scopes.has('offline_access'),
    ttl: {
      AccessToken: (ctx, token) => account(token.accountId).access_token_ttl || 3600,
      RefreshToken: (ctx, token) => account(token.accountId).refresh_token_ttl || 24 * 3600,
      DeviceCode: 600,
      Grant: 24 * 3600,
      Interaction: 600,
      Session: 24 * 3600,
      IdToken: 3600,
    },
  };
}

/** The custom grant: an access token for `subject` with `permissions`, issued and signed by the provider. */
async function testIssue(ctx) {
  const { client, params, provider } = ctx.oidc;
  const subject = params.subject;
  if (!subject) throw new errors.InvalidRequest('subject is required');
  const acc = account(subject);
  // Always set: an empty list arrives as an absent parameter (oidc-provider drops empty ones), and keeping what an
  // earlier sign-in of the same subject left would hand this token someone else's permissions.
  acc.permissions = (params.permissions || '').split(' ').filter(Boolean);
  const grant = new provider.Grant({ accountId: subject, clientId: client.clientId });
  grant.addResourceScope(audience, 'hawk');
  const grantId = await grant.save();
  const token = new provider.AccessToken({
    accountId: subject,
    client,
    grantId,
    gty: TEST_GRANT,
    scope: 'hawk',
    resourceServer: new provider.ResourceServer(audience, resourceServerInfo()),
  });
  ctx.oidc.entity('AccessToken', token);
  const value = await token.save();
  ctx.body = {
    access_token: value, token_type: 'Bearer', expires_in: token.expiration, scope: token.scope,
  };
}

/** RFC 8628 §3.5: a client polling faster than `interval` is told to slow down. */
const lastPoll = new Map();

function buildProvider() {
  const provider = new Provider(issuer, configuration());
  provider.registerGrantType(TEST_GRANT, testIssue, ['subject', 'permissions']);
  provider.on('device_authorization.success', (ctx, body) => {
    // oidc-provider omits `interval` (clients then default to 5 s); tell the client the one we enforce.
    body.interval = pollInterval;
  });
  provider.use(async (ctx, next) => {
    if (ctx.path === '/auth' && ctx.method === 'GET') {
      // OpenID Connect lets a provider grant offline_access without prompt=consent when other conditions permit it
      // (Auth0 and Okta do for first-party apps); oidc-provider drops the scope unless asked for consent, so
      // consent is asked for here, as those providers would show their consent screen when configured to.
      const query = new URLSearchParams(ctx.querystring);
      if ((query.get('scope') || '').split(' ').includes('offline_access') && !query.get('prompt')) {
        query.set('prompt', 'consent');
        ctx.querystring = query.toString();
      }
    }
    if (ctx.path === '/token' && ctx.method === 'POST') {
      // Read the form body here (oidc-provider then takes it from req.body) to enforce the polling interval.
      const raw = await readBody(ctx.req);
      ctx.req.body = raw;
      const form = new URLSearchParams(raw.toString('utf8'));
      if (form.get('grant_type') === DEVICE_GRANT && form.get('device_code')) {
        const code = form.get('device_code');
        const now = Date.now();
        const last = lastPoll.get(code);
        lastPoll.set(code, now);
        if (last !== undefined && now - last < pollInterval * 1000 * 0.8) {
          ctx.status = 400;
          ctx.set('Cache-Control', 'no-store');
          ctx.body = { error: 'slow_down', error_description: 'you are polling too quickly' };
          return;
        }
      }
    }
    await next();
  });
  return provider;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

let current = buildProvider();
let handler = current.callback();

async function admin(req, res) {
  const send = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.headers.authorization !== `Bearer ${adminSecret}`) return send(401, { error: 'unauthorized' });
  const raw = (await readBody(req)).toString('utf8');
  const body = raw ? JSON.parse(raw) : {};
  const url = new URL(req.url, issuer);
  const accountMatch = url.pathname.match(/^\/admin\/accounts\/([^/]+)$/);
  if (accountMatch && req.method === 'PUT') {
    const acc = account(decodeURIComponent(accountMatch[1]));
    for (const field of ['permissions', 'email', 'access_token_ttl', 'refresh_token_ttl']) {
      if (field in body) acc[field] = body[field];
    }
    return send(200, acc);
  }
  if (url.pathname === '/admin/rotate-keys' && req.method === 'POST') {
    const key = newSigningKey();
    signingKeys = body.keep_old === false ? [key] : [key, ...signingKeys];
    // The keystore is fixed at construction: build a new provider with the new keys; the in-memory adapter's
    // storage (grants, device codes, refresh tokens) is shared by every instance in this process.
    current = buildProvider();
    handler = current.callback();
    return send(200, { kid: key.kid, kids: signingKeys.map((k) => k.kid) });
  }
  return send(404, { error: 'not_found' });
}

const server = http.createServer((req, res) => {
  if (req.url.startsWith('/admin/')) {
    admin(req, res).catch((err) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: String(err) }));
    });
    return;
  }
  handler(req, res);
});
server.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
