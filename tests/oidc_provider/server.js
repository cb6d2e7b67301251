// A real, independent OpenID provider for the test suite: panva/node-oidc-provider (certified OpenID Connect
// implementation), configured from a JSON file written by tests/web/test_oidc.py.
//
//   node server.js CONFIG.json
//
// CONFIG.json: {"clients": [ {client_id, client_secret, redirect_uris, ...} ],
//               "accounts": {"<login>": {"email": ..., "email_verified": true, "name": ..., "groups": [...]}}}
//
// The server listens on 127.0.0.1 on a free port, then prints one JSON line to stdout: {"issuer": "http://..."}.
// It exits when its stdin closes, so it never outlives the test run that started it.
//
// Sign-in uses oidc-provider's devInteractions (a plain HTML form: any password, login = account key); consent is
// granted automatically, as an administrator would for a first-party application.
//
// Test-only control endpoints (this file is a test fixture; nothing like it exists in a real provider):
//   POST /__test__/id-token-mode?mode=M     the NEXT token response carries a bad ID token (one shot):
//        wrong-audience | expired | wrong-issuer | wrong-nonce  (re-signed with the provider's real key)
//        bad-signature  (signed with another key under the real key's kid)   | alg-none (unsigned)
//   POST /__test__/accounts/<login>         replace an account's claims (JSON body)

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import {
  SignJWT, UnsecuredJWT, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair,
} from 'jose';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = config.accounts ?? {};
const MODES = new Set(['normal', 'wrong-audience', 'expired', 'wrong-issuer', 'wrong-nonce', 'bad-signature',
  'alg-none']);
let nextMode = 'normal';

const KID = 'test-signing-key';
const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await exportJWK(privateKey)), kid: KID, alg: 'RS256', use: 'sig' };
const { privateKey: attackerKey } = await generateKeyPair('RS256');

async function tamper(idToken, mode, issuer) {
  const header = decodeProtectedHeader(idToken);
  const claims = decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  let key = privateKey;
  switch (mode) {
    case 'wrong-audience': claims.aud = 'some-other-application'; delete claims.azp; break;
    case 'expired': claims.iat = now - 7200; claims.auth_time = now - 7200; claims.exp = now - 3600; break;
    case 'wrong-issuer': claims.iss = `${issuer}/evil`; break;
    case 'wrong-nonce': claims.nonce = 'not-the-nonce-the-client-sent'; break;
    case 'bad-signature': key = attackerKey; break;
    case 'alg-none': return new UnsecuredJWT(claims).encode();
    default: throw new Error(`unknown mode ${mode}`);
  }
  return new SignJWT(claims).setProtectedHeader({ alg: header.alg, kid: header.kid ?? KID, typ: header.typ })
    .sign(key);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let data = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

async function control(req, res) {
  const url = new URL(req.url, 'http://localhost');
  const reply = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (req.method === 'POST' && url.pathname === '/__test__/id-token-mode') {
    const mode = url.searchParams.get('mode') ?? 'normal';
    if (!MODES.has(mode)) return reply(400, { error: `unknown mode ${mode}` });
    nextMode = mode;
    return reply(200, { mode });
  }
  const match = url.pathname.match(/^\/__test__\/accounts\/([^/]+)$/);
  if (req.method === 'POST' && match) {
    accounts[decodeURIComponent(match[1])] = JSON.parse(await readBody(req));
    return reply(200, { ok: true });
  }
  return reply(404, { error: 'not found' });
}

const server = createServer();
await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: { keys: [signingJwk] },
  cookies: { keys: ['socialgov-test-provider-cookie-key'] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  // Scope claims go into the ID token itself (as Entra ID does for "groups"), not only to /userinfo.
  conformIdTokenClaims: false,
  async findAccount(ctx, id) {
    if (!Object.hasOwn(accounts, id)) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...accounts[id] }; } };
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid email profile groups');
    await grant.save();
    return grant;
  },
});

provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/token' && ctx.status === 200 && nextMode !== 'normal' && ctx.body?.id_token) {
    const mode = nextMode;
    nextMode = 'normal';
    ctx.body = { ...ctx.body, id_token: await tamper(ctx.body.id_token, mode, issuer) };
  }
});

const handle = provider.callback();
server.on('request', (req, res) => {
  if (req.url.startsWith('/__test__/')) {
    control(req, res).catch((err) => { res.writeHead(500); res.end(String(err)); });
  } else {
    handle(req, res);
  }
});

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));
process.stdout.write(`${JSON.stringify({ issuer })}\n`);
