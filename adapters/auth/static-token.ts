import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Principal } from '../../core/auth/principal.js';
import type { Authenticator, AuthResult } from './authenticator.js';

/** File in the data directory that holds the admin credential made on first start. */
export const ADMIN_TOKEN_FILE = 'admin-token';

/** `opsl_` + 32 random bytes, base64url: the shape of every opsloop bearer secret. */
export function newBearerSecret(): string {
  return `opsl_${randomBytes(32).toString('base64url')}`;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * The admin credential of this installation: read from `<dataDir>/admin-token`, or made there on
 * first start (mode 0600, like Jupyter's token). Returns the secret and whether it is new.
 */
export async function ensureAdminCredential(dataDir: string): Promise<{ secret: string; file: string; created: boolean }> {
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  try {
    const secret = (await readFile(file, 'utf8')).split('\n')[0]!.trim();
    if (secret.length >= 20) {
      await chmod(file, 0o600);
      return { secret, file, created: false };
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secret = newBearerSecret();
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return { secret, file, created: true };
}

/**
 * One fixed bearer secret standing for one principal (the admin credential, the legacy ingest
 * token). Compared in constant time over SHA-256 digests; the secret itself is kept only here.
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
