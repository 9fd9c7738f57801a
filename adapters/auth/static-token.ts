import { createHash, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../../core/auth/principal.js';
import type { Authenticator, AuthResult } from './authenticator.js';

/**
 * One fixed bearer secret standing for one principal (the legacy OPSLOOP_INGEST_TOKEN, test users). Compared in constant time over SHA-256 digests; the secret itself is kept only here.
 */
export class StaticTokenAuthenticator implements Authenticator {
  readonly name: string;
  private readonly expected: Buffer;
  private readonly principal: Principal;

  constructor(name: string, secret: string, principal: Principal) {
    this.name = name;
    this.expected = digest(secret);
    this.principal = principal;
  }

  async authenticate(bearer: string): Promise<AuthResult> {
    return timingSafeEqual(digest(bearer), this.expected) ? { ok: true, principal: this.principal } : null;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
