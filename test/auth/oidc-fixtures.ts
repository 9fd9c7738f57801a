import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import type { AuthResult } from '../../adapters/auth/authenticator.js';

/** Shared by the OIDC tests: the issuer, audience and role map, a local JWKS server, token signing and result checks. */

export const ISSUER = 'https://sso.example.com/realms/ops';
export const AUDIENCE = 'opsloop';
export const ROLE_MAP = 'sre-oncall=approver,sre=responder,platform-admins=admin,*=viewer';
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A real JWKS endpoint on 127.0.0.1: serves whatever `keys` holds and counts the fetches. */
export class JwksServer {
  keys: JWK[] = [];
  fetches = 0;
  private server!: Server;
  url!: string;
  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      if (req.url !== '/jwks.json') { res.writeHead(404).end(); return; }
      this.fetches += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: this.keys }));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/jwks.json`;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface Signer { kid: string; alg: string; privateKey: CryptoKey; publicKey: CryptoKey; jwk: JWK }

export async function signer(alg: string, kid: string): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicKey, jwk };
}

export const now = () => Math.floor(Date.now() / 1000);

/** A token with sensible defaults; `claims` override them (undefined removes one). */
export async function sign(s: { alg: string; kid?: string; privateKey: CryptoKey | Uint8Array }, claims: Record<string, unknown> = {}): Promise<string> {
  const base: Record<string, unknown> = {
    iss: ISSUER, aud: AUDIENCE, sub: 'u-123', email: 'alice@example.com', email_verified: true, name: 'Alice Example',
    groups: ['sre-oncall', 'sre'], jti: 'jti-1', iat: now(), exp: now() + 300,
  };
  const body = Object.fromEntries(Object.entries({ ...base, ...claims }).filter(([, v]) => v !== undefined)) as JWTPayload;
  return new SignJWT(body).setProtectedHeader({ alg: s.alg, ...(s.kid ? { kid: s.kid } : {}), typ: 'JWT' }).sign(s.privateKey);
}

export const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** Asserts a refusal whose reason matches and never contains the token or any of its parts. */
export function assertRefused(result: AuthResult, reason: RegExp, token: string): void {
  assert.ok(result, 'a JWT is never passed on (null)');
  assert.equal(result.ok, false, `expected a refusal, got ${JSON.stringify(result)}`);
  if (result.ok) return;
  assert.match(result.reason, reason);
  for (const part of [token, ...token.split('.').filter((p) => p.length > 8)]) {
    assert.ok(!result.reason.includes(part), 'the reason never echoes the token');
  }
}

export function assertOk(result: AuthResult) {
  assert.ok(result && result.ok, `expected a principal, got ${JSON.stringify(result)}`);
  return result.principal;
}
