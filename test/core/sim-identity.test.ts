import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { principalMeta, rolesUpTo, ROLES, type Principal, type Role } from '../../core/auth/principal.js';
import { actingThrough, mayActAs, roleToActAs } from '../../core/auth/sim-identity.js';

const cast = { users: ['alice', 'sim-approver', 'sim-lead'], approvers: ['sim-approver', 'sim-lead'] };
const token = (name: string, role: Role, extra: Partial<Principal> = {}): Principal => ({ id: `token:${name}`, auth: 'token', roles: rolesUpTo(role), name, ...extra });

describe('who may act as which simulator user', () => {
  test('a policy sim approver needs the approver role; any other offered user the responder role', () => {
    assert.equal(roleToActAs('sim-approver', cast), 'approver');
    assert.equal(roleToActAs('alice', cast), 'responder');
    assert.deepEqual(mayActAs(token('admin', 'admin'), 'sim-approver', cast), { ok: true });
    assert.deepEqual(mayActAs(token('bob', 'approver'), 'sim-lead', cast), { ok: true });
    assert.deepEqual(mayActAs(token('carol', 'responder'), 'alice', cast), { ok: true });
    const refused = mayActAs(token('carol', 'responder'), 'sim-approver', cast);
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.reason, 'role');
    assert.match(!refused.ok ? refused.message : '', /token:carol may not act as sim-approver.*needs the approver role/);
    assert.equal(mayActAs(token('victor', 'viewer'), 'alice', cast).ok, false);
  });

  test('only users the simulator offers; without authentication the local user may be anyone offered', () => {
    const unknown = mayActAs(token('admin', 'admin'), 'mallory', cast);
    assert.equal(!unknown.ok && unknown.reason, 'unknown_user');
    const local: Principal = { id: 'local:anonymous', auth: 'none', roles: ROLES };
    for (const user of cast.users) assert.ok(mayActAs(local, user, cast).ok, user);
  });

  test('a simulated user acts with no more than its session: roles capped, scope kept, via recorded', () => {
    const simUser: Principal = { id: 'sim:sim-approver', auth: 'sim', roles: rolesUpTo('approver'), name: 'sim-approver' };
    const scoped = actingThrough(simUser, token('carol', 'responder', { scope: { service: ['checkout'] } }));
    assert.deepEqual(scoped.roles, ['viewer', 'responder']);
    assert.deepEqual(scoped.scope, { service: ['checkout'] });
    assert.equal(scoped.id, 'sim:sim-approver');
    const byAdmin = actingThrough(simUser, token('admin', 'admin'));
    assert.deepEqual(byAdmin.roles, ['viewer', 'responder', 'approver'], 'never admin through the simulator');
    assert.deepEqual(principalMeta(byAdmin), { id: 'sim:sim-approver', auth: 'sim', roles: ['viewer', 'responder', 'approver'], name: 'sim-approver', via: 'token:admin' });
  });
});
