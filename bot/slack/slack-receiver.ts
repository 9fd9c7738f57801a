import { createHmac, timingSafeEqual } from 'node:crypto';
import { parse as parseQuery } from 'node:querystring';
import type { App, Receiver, ReceiverEvent } from '@slack/bolt';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorBody } from '../../core/errors.js';
import type { HttpApi } from '../../adapters/http/server.js';
import type { FollowUpScheduler } from '../../adapters/chat/follow-up-scheduler.js';

/** Slack's replay window, applied both ways (Bolt accepts future timestamps; we do not). */
export const SLACK_MAX_SKEW_S = 5 * 60;
/** Slack gives up after 3 s; we answer a little before that even if no listener acked. */
const ACK_DEADLINE_MS = 2800;
const DEFAULT_BODY_LIMIT = 1024 * 1024;
const SEEN_CAPACITY = 5000;

export interface SlackReceiverOptions {
  signingSecret: string;
  /** Mount path (default `/slack/events`). */
  path?: string;
  bodyLimit?: number;
  /** Seconds since the epoch; tests may shift it. */
  nowSeconds?: () => number;
  logger?: { warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
  /** Told of each request from its arrival until its answer is sent, so follow-up work waits for it. */
  followUps?: Pick<FollowUpScheduler, 'arrived'>;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

/**
 * Check `x-slack-signature` = `v0=` + hex(HMAC-SHA256(secret, `v0:<timestamp>:<raw body>`)) and
 * that the timestamp is within 5 minutes of now, in the past **or the future**.
 */
export function verifySlackSignature(secret: string, headers: { signature?: string; timestamp?: string }, rawBody: Buffer, nowSeconds: number): SignatureCheck {
  const { signature, timestamp } = headers;
  if (!signature || !timestamp) return { ok: false, reason: 'missing x-slack-signature or x-slack-request-timestamp' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'x-slack-request-timestamp is not a unix time' };
  if (Math.abs(nowSeconds - Number(timestamp)) > SLACK_MAX_SKEW_S) return { ok: false, reason: 'x-slack-request-timestamp is outside the 5-minute window' };
  const expected = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:`).update(rawBody).digest('hex')}`;
  const given = Buffer.from(signature, 'utf8');
  const wanted = Buffer.from(expected, 'utf8');
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return { ok: false, reason: 'signature mismatch' };
  return { ok: true };
}

/** Parse a Slack request body: form (`payload=<json>` for interactivity, fields for commands) or JSON. */
export function parseSlackBody(contentType: string, raw: Buffer): Record<string, unknown> {
  const text = raw.toString('utf8');
  if (contentType.split(';')[0]!.trim().toLowerCase() === 'application/x-www-form-urlencoded') {
    const form = parseQuery(text);
    if (typeof form.payload === 'string') {
      // `payload=null` or `payload=[1]` is valid JSON but no interaction (found by test/reliability/fuzz).
      const payload: unknown = JSON.parse(form.payload);
      if (!payload || typeof payload !== 'object' || Array.isArray(payload)) throw new Error('payload is not a JSON object');
      return payload as Record<string, unknown>;
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(form)) out[k] = Array.isArray(v) ? v[0] : v;
    return out;
  }
  const parsed: unknown = JSON.parse(text);
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('body is not a JSON object');
  return parsed as Record<string, unknown>;
}

/** What identifies a delivery across Slack's retries. */
function deliveryKey(body: Record<string, unknown>): string | null {
  if (typeof body.event_id === 'string') return `event:${body.event_id}`;
  if (typeof body.trigger_id === 'string') return `trigger:${body.trigger_id}`;
  return null;
}

/**
 * A Bolt Receiver that lives inside opsloop's Fastify server instead of owning a port: the
 * route verifies the signature (symmetric 5-minute window), parses the body, drops Slack's
 * retries of deliveries it has seen, hands the event to Bolt and answers as soon as a listener
 * acks (or just before Slack's 3-second deadline).
 */
export class FastifySlackReceiver implements Receiver {
  private bolt: App | null = null;
  private readonly seen = new Map<string, true>();
  private readonly options: SlackReceiverOptions;

  constructor(options: SlackReceiverOptions) {
    this.options = options;
  }

  init(app: App): void {
    this.bolt = app;
  }

  /** The HTTP server is opsloop's; nothing to start. */
  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  /** Fastify plugin mounting the events/commands/interactivity endpoint. */
  plugin() {
    return async (app: FastifyInstance, api?: HttpApi): Promise<void> => {
      const path = this.options.path ?? '/slack/events';
      app.removeAllContentTypeParsers();
      app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: this.options.bodyLimit ?? DEFAULT_BODY_LIMIT }, (_req, body, done) => done(null, body));
      // Who sent it is proven by Slack's v0 signature, checked in `handle` (auth: 'self').
      app.post(path, { config: { auth: 'self' } }, async (request, reply) => {
        const answered = this.options.followUps?.arrived();
        try {
          return await this.handle(request, reply);
        } finally {
          answered?.();
        }
      });
      api?.describe({
        method: 'POST', path, tags: ['chat'],
        summary: 'Slack slash commands, interactivity (block_actions, view_submission) and events; signed requests only',
        responses: {
          200: { description: 'Acknowledged (body: an immediate ephemeral answer, a url_verification challenge, or empty)' },
          401: { description: 'Missing or bad signature, or a timestamp outside the 5-minute window' },
        },
      });
    };
  }

  private async handle(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const now = this.options.nowSeconds?.() ?? Math.floor(Date.now() / 1000);
    const check = verifySlackSignature(this.options.signingSecret, {
      signature: header(request, 'x-slack-signature'), timestamp: header(request, 'x-slack-request-timestamp'),
    }, raw, now);
    if (!check.ok) {
      this.options.logger?.warn({ reason: check.reason }, 'slack request refused');
      return reply.code(401).send(errorBody('OPS_UNAUTHORIZED', `Slack signature check failed: ${check.reason}`));
    }
    let body: Record<string, unknown>;
    try {
      body = parseSlackBody(header(request, 'content-type') ?? '', raw);
    } catch (error) {
      return reply.code(400).send(errorBody('OPS_BAD_JSON', `cannot parse the Slack body: ${(error as Error).message}`));
    }
    if (body.type === 'url_verification') return reply.send({ challenge: body.challenge });
    if (body.ssl_check !== undefined) return reply.code(200).send('');
    const retryNum = Number(header(request, 'x-slack-retry-num') ?? NaN);
    const key = deliveryKey(body);
    if (key && this.seen.has(key) && Number.isFinite(retryNum)) {
      return reply.code(200).header('x-slack-no-retry', '1').send('');
    }
    if (key) this.remember(key);
    if (!this.bolt) return reply.code(503).send(errorBody('OPS_NOT_CONFIGURED', 'the Slack app is not initialised'));
    return this.dispatch(body, retryNum, header(request, 'x-slack-retry-reason'), reply);
  }

  private async dispatch(body: Record<string, unknown>, retryNum: number, retryReason: string | undefined, reply: FastifyReply): Promise<unknown> {
    let acked = false;
    let resolveAck!: (response: unknown) => void;
    const ackPromise = new Promise<unknown>((resolve) => { resolveAck = resolve; });
    const event: ReceiverEvent = {
      body,
      ...(Number.isFinite(retryNum) ? { retryNum } : {}),
      ...(retryReason ? { retryReason } : {}),
      ack: async (response?: unknown) => {
        if (acked) return;
        acked = true;
        resolveAck(response);
      },
    };
    this.bolt!.processEvent(event).catch((error: unknown) => {
      this.options.logger?.error({ err: error }, 'slack listener failed');
      resolveAck(undefined);
    });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<symbol>((resolve) => { timer = setTimeout(() => resolve(TIMEOUT), ACK_DEADLINE_MS); });
    const response = await Promise.race([ackPromise, deadline]);
    clearTimeout(timer);
    if (response === TIMEOUT) {
      this.options.logger?.warn({ type: body.type }, 'no Slack listener acked in time');
      return reply.code(200).send('');
    }
    if (response === undefined || response === '') return reply.code(200).send('');
    if (typeof response === 'string') return reply.code(200).type('text/plain').send(response);
    return reply.code(200).send(response);
  }

  private remember(key: string): void {
    this.seen.set(key, true);
    if (this.seen.size > SEEN_CAPACITY) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}

const TIMEOUT = Symbol('timeout');

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
