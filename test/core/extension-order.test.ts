import assert from 'node:assert/strict';
import { test } from 'node:test';
import { orderExtensions, ServiceRegistry } from '../../app/extension-order.js';

const ext = (name: string, more: { provides?: ['librarian']; needs?: ['librarian'] } = {}) => ({ name, ...more, create: name });

test('a provider is built before the extensions that need its service; the rest keep their order', () => {
  const order = orderExtensions([
    ext('agents', { needs: ['librarian'] }), ext('ingest'), ext('knowledge', { provides: ['librarian'] }), ext('sim', { needs: ['librarian'] }),
  ]).map((e) => e.name);
  assert.deepEqual(order, ['knowledge', 'agents', 'ingest', 'sim']);
});

test('a need nobody provides is allowed: the extension runs without it', () => {
  assert.deepEqual(orderExtensions([ext('sim', { needs: ['librarian'] }), ext('ingest')]).map((e) => e.name), ['sim', 'ingest']);
});

test('extensions that need each other in a circle are refused by name', () => {
  // Two made-up services (only the Librarian exists today) that a and b provide to each other.
  const x = 'x' as never;
  const y = 'y' as never;
  assert.throws(() => orderExtensions([
    { name: 'a', provides: [x], needs: [y], create: 'a' },
    { name: 'b', provides: [y], needs: [x], create: 'b' },
  ]), /circle: a → b → a/);
});

test('the registry gives each service to whoever asks, null when none is provided, and refuses a second provider', () => {
  const services = new ServiceRegistry();
  assert.equal(services.get('librarian'), null);
  const librarian = {} as never;
  services.provide('librarian', librarian);
  assert.equal(services.get('librarian'), librarian);
  assert.throws(() => services.provide('librarian', librarian), /two extensions provide librarian/);
});
