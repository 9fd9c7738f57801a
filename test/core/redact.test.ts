import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { containsSecret, isSecretKey, REDACTED, redactText, redactValue } from '../../core/auth/redact.js';

/** Secret-shaped test values, assembled at run time so no scanner mistakes this file for a leak. */
const t = (...parts: string[]) => parts.join('');
const SLACK_BOT = t('xox', 'b-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUv');
const SLACK_USER = t('xox', 'p-1111111111-2222222222-abcdefABCDEF');
const SLACK_APP = t('xa', 'pp-1-A0123456789-1234567890123-deadbeefcafe0123');
const OPENAI = t('s', 'k-proj-AbCdEf0123456789GhIjKlMnOpQr');
const OPSL = t('op', 'sl_Zx8Qk2Lm9Np4Rs7Tv1Wy3Bc6Df0Gh5Jk');
const JWT = t('ey', 'JhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVzLWhlcmU');
const GHP = t('gh', 'p_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789');
const GHS = t('gh', 's_0123456789abcdefABCDEF0123456789abcd');
const GITHUB_PAT = t('github', '_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz');

function assertGone(out: string, secret: string): void {
  assert.ok(!out.includes(secret), `${JSON.stringify(out)} still contains ${secret}`);
  assert.ok(out.includes(REDACTED), `${JSON.stringify(out)} shows no ${REDACTED} marker`);
}

describe('redactText: patterns', () => {
  const cases: Array<[string, string]> = [
    ['Slack bot token', SLACK_BOT],
    ['Slack user token', SLACK_USER],
    ['Slack app token', SLACK_APP],
    ['OpenAI key', OPENAI],
    ['opsloop API token', OPSL],
    ['JWT', JWT],
    ['GitHub ghp_', GHP],
    ['GitHub ghs_', GHS],
    ['GitHub fine-grained PAT', GITHUB_PAT],
  ];
  for (const [name, secret] of cases) {
    it(`redacts a ${name} inside prose`, () => {
      const out = redactText(`calling the API with ${secret} failed (retrying)`);
      assertGone(out, secret);
      assert.match(out, /^calling the API with .*\[redacted\] failed \(retrying\)$/);
    });
  }

  it('redacts Bearer and Basic credentials, whatever their shape', () => {
    const arbitrary = 'Zq7-opaque.credential_value';
    for (const text of [`Authorization: Bearer ${arbitrary}`, `authorization=bearer ${arbitrary}`, `got header "Basic ${Buffer.from('u:p4ssw0rd!').toString('base64')}"`]) {
      const out = redactText(text);
      assert.ok(!out.includes(arbitrary) && !out.includes('dTpwNHNzdzByZCE='), out);
    }
    assert.equal(redactText(`Bearer ${arbitrary} rejected`), 'Bearer [redacted] rejected');
  });

  it('redacts a Discord "Bot <token>" credential but not the word bot', () => {
    const discord = t('MTIzNDU2Nzg5MDEyMzQ1Njc4', '.GhIjKl.AbCdEfGhIjKlMnOpQrStUvWxYz012345');
    assertGone(redactText(`Authorization: Bot ${discord}`), discord);
    assert.equal(redactText('Bot framework replied; Token bucket refilled'), 'Bot framework replied; Token bucket refilled');
  });

  it('keeps the user of URL credentials and drops the password', () => {
    assert.equal(redactText('connect postgres://opsloop:s3cr%40t-pw@db.internal:5432/ops failed'),
      'connect postgres://opsloop:[redacted]@db.internal:5432/ops failed');
    assert.equal(redactText('nats://relay:hunter2hunter2@nats:4222'), 'nats://relay:[redacted]@nats:4222');
    assert.equal(redactText('mongodb+srv://:onlypass@cluster0.example.net/db'), 'mongodb+srv://:[redacted]@cluster0.example.net/db');
  });

  it('redacts PEM private key blocks, terminated or not', () => {
    const body = 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\nq1w2e3r4t5y6u7i8o9p0';
    const pem = `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----`;
    const out = redactText(`key:\n${pem}\nend`);
    assert.ok(!out.includes('MIIEvQ') && out.includes('-----BEGIN PRIVATE KEY-----[redacted]-----END PRIVATE KEY-----') && out.endsWith('\nend'), out);
    const rsa = redactText(`-----BEGIN RSA PRIVATE KEY-----\n${body}`);
    assert.ok(!rsa.includes('MIIEvQ'), rsa);
    const pub = '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----';
    assert.equal(redactText(pub), pub);
  });

  it('redacts key=value and "key": "value" pairs that name a secret', () => {
    assert.equal(redactText('GET /hook?access_token=abc123xyz&x=1'), 'GET /hook?access_token=[redacted]&x=1');
    assert.equal(redactText('{"client_secret":"s3cr3t-value","name":"x"}'), '{"client_secret":"[redacted]","name":"x"}');
    assert.equal(redactText("password: 'hunter2'"), "password: '[redacted]'");
    assert.equal(redactText('x-api-key: 0123abcd'), 'x-api-key: [redacted]');
  });

  it('redacts AWS access key ids', () => {
    assertGone(redactText(`creds AKIAIOSFODNN7EXAMPLE`), 'AKIAIOSFODNN7EXAMPLE');
  });
});

describe('redactText: known secret values', () => {
  it('redacts every occurrence of a configured secret, whatever its shape', () => {
    const signing = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    const ingest = 'ingest!token-with.odd*chars';
    const out = redactText(`sig ${signing}; again ${signing}; ${ingest}.`, [signing, ingest]);
    assert.equal(out, 'sig [redacted]; again [redacted]; [redacted].');
  });

  it('ignores known values shorter than 8 characters (they would eat ordinary words)', () => {
    assert.equal(redactText('the checkout service', ['check', '']), 'the checkout service');
  });

  it('prefers the longest known value when one contains another', () => {
    assert.equal(redactText('X-SECRET-VALUE-LONG', ['SECRET-VALUE', 'X-SECRET-VALUE-LONG']), '[redacted]');
  });
});

describe('redactText: non-secrets are left alone', () => {
  const ordinary = [
    randomUUID(),
    `case ${randomUUID()} moved WAIT_GATE → EXECUTING (version 5)`,
    createHash('sha256').update('timeline entry').digest('hex'),
    `prev_hash=${createHash('sha256').update('x').digest('hex')}`,
    'p95 latency spike on checkout-api in prod; restart the pods and watch error rate < 1%',
    'Idempotency-Key: exec:3f1c2a9e-5b7d-4c1e-9a2b-1c3d5e7f9a0b:v5:start',
    'task-runner skipped disk-cleanup; desk-lamp-service ok',
    'http://127.0.0.1:8080/case/abc/timeline?limit=50',
    'https://grafana.example.com/d/abc?orgId=1&from=now-1h',
    'max_tokens 512, token_count=12, tokens: 3',
    'The request is not authenticated.',
    'opsloop is running; secrets never leave',
    'sk-8 and xoxb- are prefixes; eyJ alone is not a JWT',
  ];
  for (const text of ordinary) {
    it(`keeps ${JSON.stringify(text.slice(0, 50))}`, () => {
      assert.equal(redactText(text), text);
      assert.equal(containsSecret(text), false);
    });
  }
});

describe('redactValue', () => {
  it('redacts values under secret-named keys at any depth and patterns in other strings', () => {
    const input = {
      headers: { Authorization: 'Bearer x', 'x-api-key': 'k', cookie: 'sid=1', 'content-type': 'application/json' },
      config: { slackBotToken: 'anything', openaiApiKey: 'anything', signing_secret: 'abc', private_key: 'pem', client_secret: 'c', password: 'p' },
      nested: [{ deeper: { token: 'tok', note: `uses ${SLACK_BOT}` } }],
      case_id: '6b0c3a4e-8f1d-4a6b-9c2e-1f3a5b7c9d0e',
      count: 3, flag: true, none: null,
    };
    const out = redactValue(input);
    assert.deepEqual(out, {
      headers: { Authorization: REDACTED, 'x-api-key': REDACTED, cookie: REDACTED, 'content-type': 'application/json' },
      config: { slackBotToken: REDACTED, openaiApiKey: REDACTED, signing_secret: REDACTED, private_key: REDACTED, client_secret: REDACTED, password: REDACTED },
      nested: [{ deeper: { token: REDACTED, note: 'uses xoxb-[redacted]' } }],
      case_id: '6b0c3a4e-8f1d-4a6b-9c2e-1f3a5b7c9d0e',
      count: 3, flag: true, none: null,
    });
    assert.equal(input.headers.Authorization, 'Bearer x', 'the input is not modified');
  });

  it('leaves non-secret keys that merely look similar', () => {
    const value = { idempotency_key: 'k-1', token_id: 'tok_123', public_key: 'ab'.repeat(32), max_tokens: 512, has_token: true, hash: 'f'.repeat(64), prev_hash: 'e'.repeat(64) };
    assert.deepEqual(redactValue(value), value);
  });

  it('redacts known secrets in values and in keys (labels a careless user typed)', () => {
    const known = ['ThisIsTheIngestToken42'];
    assert.deepEqual(redactValue({ labels: { ThisIsTheIngestToken42: 'x', note: 'ThisIsTheIngestToken42' } }, known), { labels: { [REDACTED]: 'x', note: REDACTED } });
  });

  it('turns Errors into redacted {name, message, stack}, survives cycles, keeps Dates', () => {
    const err = new Error(`request failed: Authorization: Bearer ${OPSL}`);
    const when = new Date(0);
    const cyclic: Record<string, unknown> = { when, err };
    cyclic.self = cyclic;
    const out = redactValue(cyclic) as Record<string, any>;
    assert.equal(out.when, when);
    assert.equal(out.self, REDACTED);
    assert.ok(!JSON.stringify(out).includes(OPSL));
    assert.equal(out.err.name, 'Error');
  });

  it('is idempotent', () => {
    const once = redactValue({ a: `Bearer ${OPSL} postgres://u:pw123456@h/db ${JWT}`, password: 'x' });
    assert.deepEqual(redactValue(once), once);
  });
});

describe('isSecretKey', () => {
  it('recognises the usual spellings', () => {
    for (const k of ['authorization', 'Authorization', 'proxy-authorization', 'token', 'accessToken', 'refresh_token', 'botToken', 'secret', 'client_secret', 'signingSecret',
      'password', 'db_password', 'api_key', 'apiKey', 'x-api-key', 'openaiApiKey', 'cookie', 'set-cookie', 'private_key', 'privateKey']) {
      assert.equal(isSecretKey(k), true, k);
    }
    for (const k of ['id', 'title', 'token_id', 'idempotency_key', 'public_key', 'max_tokens', 'tokens', 'secrets_count', 'author', 'hash']) {
      assert.equal(isSecretKey(k), false, k);
    }
  });
});

describe('redactText on JSON text (log lines)', () => {
  it('keeps the JSON valid while redacting inside strings', () => {
    const line = JSON.stringify({ msg: `boom Bearer ${OPSL}`, key: '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADAN', url: 'postgres://u:pw123456@h/db', headers: { authorization: 'Bearer abcdefgh12' } });
    const out = redactText(line);
    const parsed = JSON.parse(out);
    assert.equal(parsed.msg, 'boom Bearer [redacted]');
    assert.equal(parsed.key, '-----BEGIN PRIVATE KEY-----[redacted]-----END PRIVATE KEY-----');
    assert.equal(parsed.url, 'postgres://u:[redacted]@h/db');
    assert.equal(parsed.headers.authorization, 'Bearer [redacted]');
  });
});

describe('principal ids are names, not secrets', () => {
  it('keeps token:alice, slack:U1 and agent:executor, in text and in JSON, but still redacts token=… and "token": "…"', () => {
    const line = JSON.stringify({ actor: 'token:alice', principal: { id: 'token:admin' }, msg: 'approved by token:bob' });
    assert.deepEqual(JSON.parse(redactText(line)), { actor: 'token:alice', principal: { id: 'token:admin' }, msg: 'approved by token:bob' });
    assert.equal(redactText('token=abcdef123456'), `token=${REDACTED}`);
    assert.equal(redactText('token: abcdef123456'), `token: ${REDACTED}`);
    assert.equal(redactText('{"token":"abcdef123456"}'), `{"token":"${REDACTED}"}`);
  });
});
