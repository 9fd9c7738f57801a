import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nextOpening, openingAt, zonedInstant } from '../../core/silences/maintenance.js';
import { MaintenanceWindowSchema, type MaintenanceWindow } from '../../core/schemas/maintenance.js';
import { parseServices } from '../../adapters/config/services-loader.js';
import { serviceDefaultsFor } from '../../core/schemas/services.js';
import { inventoryTargetFor } from '../../core/agents/inventory.js';
import { PolicySchema } from '../../core/agents/policy-schema.js';

const window = (w: Partial<MaintenanceWindow>): MaintenanceWindow => MaintenanceWindowSchema.parse({ name: 'w', time_zone: 'Europe/Berlin', days: ['sun'], start: '02:00', duration: '2h', ...w });
const at = (iso: string) => new Date(iso);

describe('maintenance windows across DST (Intl, no library)', () => {
  test('the same local start is a different UTC instant in winter and summer', () => {
    assert.equal(zonedInstant('2026-01-11', '09:00', 'Europe/Berlin').toISOString(), '2026-01-11T08:00:00.000Z');
    assert.equal(zonedInstant('2026-07-12', '09:00', 'Europe/Berlin').toISOString(), '2026-07-12T07:00:00.000Z');
    assert.equal(zonedInstant('2026-07-12', '09:00', 'America/New_York').toISOString(), '2026-07-12T13:00:00.000Z');
  });

  test('spring forward: a start inside the gap opens after the jump; the window lasts its elapsed duration', () => {
    // Berlin, Sunday 2026-03-29: 02:00 CET → 03:00 CEST. 02:30 does not exist.
    const w = window({ start: '02:30', duration: '1h' });
    const open = openingAt(w, at('2026-03-29T01:45:00Z'));
    assert.deepEqual(open, { start: at('2026-03-29T01:30:00Z'), end: at('2026-03-29T02:30:00Z') });
    assert.equal(openingAt(w, at('2026-03-29T01:29:00Z')), null);
    assert.equal(openingAt(w, at('2026-03-29T02:30:00Z')), null, 'the end is exclusive');
  });

  test('fall back: a window over the repeated hour lasts its elapsed duration from the first 01:00', () => {
    // Berlin, Sunday 2026-10-25: 03:00 CEST → 02:00 CET.
    const w = window({ start: '01:00', duration: '3h' });
    assert.deepEqual(openingAt(w, at('2026-10-25T00:30:00Z')), { start: at('2026-10-24T23:00:00Z'), end: at('2026-10-25T02:00:00Z') });
    assert.equal(openingAt(w, at('2026-10-25T02:00:00Z')), null);
    // A start inside the repeated hour takes the first of the two.
    assert.equal(zonedInstant('2026-10-25', '02:30', 'Europe/Berlin').toISOString(), '2026-10-25T00:30:00.000Z');
  });

  test('only on its days; a window past midnight stays open into the next day', () => {
    const w = window({ days: ['sat'], start: '23:00', duration: '3h', time_zone: 'UTC' });
    assert.ok(openingAt(w, at('2026-12-06T01:00:00Z')), 'Sunday 01:00 is inside Saturday 23:00 + 3h');
    assert.equal(openingAt(w, at('2026-12-06T23:30:00Z')), null, 'Sunday 23:30 is not a Saturday');
    assert.deepEqual(nextOpening(w, at('2026-12-06T03:00:00Z'))?.start, at('2026-12-12T23:00:00Z'));
  });

  test('config/services.yml: maintenance per service, validated with the field named', () => {
    const services = parseServices(`version: 1
services:
  checkout:
    maintenance:
      - { name: sunday-patching, time_zone: Europe/Berlin, days: [sun], start: "02:00", duration: 2h, env: prod }
`);
    assert.equal(serviceDefaultsFor(services, 'checkout').maintenance?.[0]?.name, 'sunday-patching');
    assert.throws(() => parseServices(`services:\n  checkout:\n    maintenance:\n      - { name: x, time_zone: Mars/Base, days: [sun], start: "02:00", duration: 2h }\n`), /time_zone/);
    assert.throws(() => parseServices(`services:\n  checkout:\n    maintenance:\n      - { name: x, time_zone: UTC, days: [sun], start: "25:00", duration: 2h }\n`), /start/);
  });
});

describe('maintenance windows and the Gatekeeper\'s change windows stay apart', () => {
  test('the Gatekeeper\'s inventory of a service is the same with or without a maintenance window', () => {
    const base = 'version: 1\nservices:\n  checkout:\n    env: prod\n    namespace: shop\n    deployment: checkout\n';
    const withWindow = parseServices(`${base}    maintenance:\n      - { name: always, time_zone: UTC, days: [mon, tue, wed, thu, fri, sat, sun], start: "00:00", duration: 24h }\n`);
    assert.deepEqual(inventoryTargetFor(withWindow, 'checkout'), inventoryTargetFor(parseServices(base), 'checkout'));
  });

  test('policy.yml knows change_windows, not maintenance; services.yml knows maintenance, not change_windows', () => {
    const policy = PolicySchema.safeParse({ version: 1, maintenance: [] });
    assert.ok(!policy.success && policy.error.issues.some((i) => i.code === 'unrecognized_keys' && i.keys.includes('maintenance')));
    assert.throws(() => parseServices('services:\n  checkout:\n    change_windows: []\n'), /change_windows/);
  });
});
