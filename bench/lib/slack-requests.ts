/** Signed Slack requests exactly as Slack sends them (light: the load client process imports only this). */
import { createHmac } from 'node:crypto';
import { wallMs } from './stats.js';

export const BENCH_SLACK_SECRET = 'bench-signing-secret';
export const BENCH_SLACK_TOKEN = 'xoxb-bench';
export const BENCH_CHANNEL = 'C_BENCH';
export const BENCH_REQUESTER = { id: 'U_BENCH_REQ', username: 'requester' };
export const BENCH_APPROVER = { id: 'U_BENCH_APPROVER', username: 'approver' };

export type SlackUser = { id: string; username: string };

/** `v0=` + hex(HMAC-SHA256(secret, `v0:<ts>:<body>`)). */
export function signSlack(body: string, timestamp: number, secret = BENCH_SLACK_SECRET): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export interface SlackAnswer {
  status: number;
  /** Send → full response read, ms. */
  ms: number;
  body: string;
  /** Network failure (no HTTP status), if any. */
  error?: string;
}

/** POST a signed, form-encoded body (exactly `application/x-www-form-urlencoded`) and time the answer. */
export async function postSignedSlack(url: string, body: string, secret = BENCH_SLACK_SECRET): Promise<SlackAnswer> {
  const timestamp = Math.floor(Date.now() / 1000);
  const started = wallMs();
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signSlack(body, timestamp, secret) },
      body,
    });
    const text = await res.text();
    return { status: res.status, ms: wallMs() - started, body: text };
  } catch (error) {
    return { status: 0, ms: wallMs() - started, body: '', error: (error as Error).message };
  }
}

/** A `/ops` slash command body as Slack sends it. */
export function slashCommandBody(text: string, user: SlackUser, responseUrl: string, triggerId: string): string {
  return new URLSearchParams({
    token: 'legacy', team_id: 'T1', team_domain: 'bench', channel_id: BENCH_CHANNEL, channel_name: 'bench',
    user_id: user.id, user_name: user.username, command: '/ops', text, api_app_id: 'A1', is_enterprise_install: 'false',
    response_url: responseUrl, trigger_id: triggerId,
  }).toString();
}

/** A `block_actions` payload of one Approve click, as Slack sends it. */
export function approveClickBody(value: string, user: SlackUser, responseUrl: string, triggerId: string): string {
  const payload = {
    type: 'block_actions', team: { id: 'T1', domain: 'bench' }, api_app_id: 'A1', token: 'legacy',
    user: { id: user.id, username: user.username, name: user.username, team_id: 'T1' },
    container: { type: 'message', message_ts: '1700000000.000001', channel_id: BENCH_CHANNEL, is_ephemeral: false },
    trigger_id: triggerId, channel: { id: BENCH_CHANNEL, name: 'bench' },
    message: { type: 'message', ts: '1700000000.000001', text: 'plan' },
    response_url: responseUrl,
    actions: [{ type: 'button', action_id: 'ops_approve', block_id: 'ops_gate', value, action_ts: `${Date.now() / 1000}`, text: { type: 'plain_text', text: 'Approve' } }],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

