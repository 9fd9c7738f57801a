import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { Routes, type REST } from 'discord.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { errorBody } from '../../core/errors.js';
import type { HttpApi, HttpPlugin } from '../../adapters/http/server.js';
import {
  CALLBACK, callbackOf, followUpBodyOf, parseRawInteraction, type DiscordAnswer, type DiscordInteractions,
} from './discord-interactions.js';
import { EPHEMERAL_FLAG } from '../../adapters/chat/discord/discord-render.js';

/** DER prefix that turns a raw 32-byte Ed25519 public key into an SPKI key node:crypto reads. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** Oldest accepted X-Signature-Timestamp (Discord has no built-in replay window; we add one). */
export const DISCORD_MAX_AGE_S = 5 * 60;
/** Tolerated clock skew for timestamps from the future. */
export const DISCORD_MAX_FUTURE_S = 60;
/** Discord waits 3 s for the first answer; past this budget we defer and follow up. */
export const DEFAULT_ANSWER_WITHIN_MS = 2500;
const DEFAULT_BODY_LIMIT = 256 * 1024;

/** The application's public key (64 hex characters, DISCORD_PUBLIC_KEY) as a node:crypto key. */
export function discordPublicKey(hex: string): KeyObject {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error('a Discord public key is 64 hex characters');
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(hex, 'hex')]), format: 'der', type: 'spki' });
}

export type DiscordSignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * Check `X-Signature-Ed25519` (hex) over `X-Signature-Timestamp + rawBody`, and that the
 * timestamp is at most 5 minutes old and at most a minute in the future.
 */
export function verifyDiscordSignature(key: KeyObject, headers: { signature?: string; timestamp?: string }, rawBody: Buffer, nowSeconds: number): DiscordSignatureCheck {
  const { signature, timestamp } = headers;
  if (!signature || !timestamp) return { ok: false, reason: 'missing X-Signature-Ed25519 or X-Signature-Timestamp' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'X-Signature-Timestamp is not a unix time' };
  const age = nowSeconds - Number(timestamp);
  if (age > DISCORD_MAX_AGE_S) return { ok: false, reason: 'X-Signature-Timestamp is older than 5 minutes' };
  if (age < -DISCORD_MAX_FUTURE_S) return { ok: false, reason: 'X-Signature-Timestamp is in the future' };
  if (!/^[0-9a-fA-F]{128}$/.test(signature)) return { ok: false, reason: 'X-Signature-Ed25519 is not 64 hex bytes' };
  const valid = verify(null, Buffer.concat([Buffer.from(timestamp, 'utf8'), rawBody]), key, Buffer.from(signature, 'hex'));
  return valid ? { ok: true } : { ok: false, reason: 'signature mismatch' };
}

export interface DiscordHttpOptions {
  /** DISCORD_PUBLIC_KEY (hex). */
  publicKey: string;
  interactions: DiscordInteractions;
  /** REST client for follow-ups after a deferral (webhook routes need no bot token). */
  rest: REST;
  path?: string;
  bodyLimit?: number;
  answerWithinMs?: number;
  nowSeconds?: () => number;
  logger?: Pick<Logger, 'warn' | 'error'>;
}

/**
 * The HTTP interactions endpoint (POST /discord/interactions) as a Fastify plugin: verify the
 * signature and age (401 JSON otherwise), answer PING with PONG, and run commands, buttons and
 * modal submissions through `DiscordInteractions`. The answer goes in the HTTP response when it
 * is ready within `answerWithinMs`; otherwise the endpoint answers type 5 (deferred, ephemeral)
 * and edits `@original` through the webhook when the work is done.
 */
export function discordInteractionsPlugin(o: DiscordHttpOptions): HttpPlugin {
  const key = discordPublicKey(o.publicKey);
  const path = o.path ?? '/discord/interactions';
  const budget = o.answerWithinMs ?? DEFAULT_ANSWER_WITHIN_MS;
  const pending = new Set<Promise<void>>();

  const followUp = (applicationId: string, token: string, work: Promise<DiscordAnswer>): void => {
    const task = work
      .then((answer) => o.rest.patch(Routes.webhookMessage(applicationId, token), { body: followUpBodyOf(answer), auth: false }))
      .then(() => undefined, (error: unknown) => { o.logger?.error({ err: error }, 'discord follow-up failed'); });
    pending.add(task);
    void task.finally(() => pending.delete(task));
  };

  const handle = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const check = verifyDiscordSignature(key, {
      signature: header(request, 'x-signature-ed25519'), timestamp: header(request, 'x-signature-timestamp'),
    }, raw, o.nowSeconds?.() ?? Math.floor(Date.now() / 1000));
    if (!check.ok) {
      o.logger?.warn({ reason: check.reason }, 'discord interaction refused');
      return reply.code(401).send(errorBody('OPS_UNAUTHORIZED', `Discord signature check failed: ${check.reason}`));
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch (error) {
      return reply.code(400).send(errorBody('OPS_BAD_JSON', `cannot parse the interaction: ${(error as Error).message}`));
    }
    const parsed = parseRawInteraction(body);
    if (!parsed.ok) return reply.code(400).send(errorBody('OPS_VALIDATION', parsed.message));
    if (!parsed.request) return reply.send({ type: CALLBACK.pong });
    const work = o.interactions.answer(parsed.request);
    let timer: NodeJS.Timeout | undefined;
    const first = await Promise.race([work, new Promise<null>((resolve) => { timer = setTimeout(() => resolve(null), budget); })]);
    clearTimeout(timer);
    if (first) return reply.send(callbackOf(first));
    followUp(parsed.raw.application_id, parsed.raw.token, work);
    return reply.send({ type: CALLBACK.deferredMessage, data: { flags: EPHEMERAL_FLAG } });
  };

  return async (app: FastifyInstance, api: HttpApi): Promise<void> => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: o.bodyLimit ?? DEFAULT_BODY_LIMIT }, (_req, b, done) => done(null, b));
    app.addHook('onClose', async () => { await Promise.allSettled([...pending]); });
    api.route({
      method: 'POST', path, tags: ['chat'], auth: 'self', // Ed25519 signature checked in the handler
      summary: 'Discord HTTP interactions (PING, /ops slash commands, Approve/Reject buttons, reject-reason modal); signed requests only',
      responses: {
        200: { description: 'An interaction response: PONG (1), message (4, ephemeral flag 64), deferred message (5) or modal (9)' },
        400: { description: 'Signed, but not a valid interaction payload' },
        401: { description: 'Missing or bad Ed25519 signature, or a timestamp older than 5 minutes (or in the future)' },
      },
    }, handle);
  };
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
