import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pollUntil, redactSecrets, safeOutput, truncateOutput } from '../../../adapters/executors/executor-support.js';

test('redactSecrets hides the usual token shapes and keeps the text around them', () => {
  const cases: Array<[string, string]> = [
    ['slack xoxb-123456789-abcdefghij done', 'slack [REDACTED] done'],
    ['gh ghp_0123456789abcdefghijABCDEFGHIJ', 'gh [REDACTED]'],
    ['Authorization: Bearer abc.def-ghi_jkl', 'Authorization: Bearer [REDACTED]'],
    ['password=hunter22 user=bob', 'password=[REDACTED] user=bob'],
    ['DB_PASSWORD: "s3cr3t"', 'DB_PASSWORD: "[REDACTED]"'],
    ['aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'aws_secret_access_key = [REDACTED]'],
    ['id AKIAIOSFODNN7EXAMPLE in use', 'id [REDACTED] in use'],
    ['postgres://app:pa55word@db:5432/x', 'postgres://app:[REDACTED]@db:5432/x'],
    ['-----BEGIN RSA PRIVATE KEY-----\nMIIabc\n-----END RSA PRIVATE KEY-----\nafter', '[REDACTED]\nafter'],
    ['the token expired at 12:00', 'the token expired at 12:00'],
    ['deployment checkout rolled out', 'deployment checkout rolled out'],
  ];
  for (const [input, expected] of cases) assert.equal(redactSecrets(input), expected, input);
});

test('truncateOutput keeps whole UTF-8 characters and marks the cut', () => {
  assert.equal(truncateOutput('short', 100), 'short');
  const cut = truncateOutput('é'.repeat(100), 51);
  assert.match(cut, /^é{25}\n…\[truncated 149 bytes\]$/);
  assert.ok(!safeOutput(`${'x'.repeat(20_000)} ghp_0123456789abcdefghijABCDEFGHIJ`).includes('ghp_'));
});

test('pollUntil stops at done, or returns the last value when the signal aborts', async () => {
  let n = 0;
  const done = await pollUntil(async () => ({ done: ++n === 3, value: n }), { intervalMs: 1, signal: new AbortController().signal });
  assert.deepEqual(done, { done: true, value: 3 });
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  const cut = await pollUntil(async () => ({ done: false, value: 'waiting' }), { intervalMs: 5, signal: ac.signal });
  assert.deepEqual(cut, { done: false, value: 'waiting' });
});
