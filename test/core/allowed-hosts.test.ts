import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  allowedHostsFor, describeAllowedHosts, hostOfHeader, isHostAllowed, isIpLiteral, parseAllowedHostEntry,
} from '../../core/auth/allowed-hosts.js';

describe('allowed Host headers (DNS rebinding protection)', () => {
  test('a Host header is parsed to its host: lower case, no port, no trailing dot; malformed → null', () => {
    assert.equal(hostOfHeader('LocalHost:8080'), 'localhost');
    assert.equal(hostOfHeader('ops.example.com.'), 'ops.example.com');
    assert.equal(hostOfHeader('127.0.0.1:80'), '127.0.0.1');
    assert.equal(hostOfHeader('[::1]:8080'), '[::1]');
    assert.equal(hostOfHeader('[FE80::1%25eth0]'), '[fe80::1%25eth0]');
    for (const bad of ['', ' ', '::1', 'a b', 'evil.example/x', 'user@localhost', 'localhost:', 'localhost:123456', '[nope]', 'x_y.example', '-a.example']) {
      assert.equal(hostOfHeader(bad), null, bad);
    }
  });

  test('IP literals: dotted-quad IPv4 and IPv6; not names that look like numbers', () => {
    for (const ip of ['127.0.0.1', '10.0.0.5', '0.0.0.0', '255.255.255.255', '[::1]', '::1', '[2001:db8::7]', '[::ffff:127.0.0.1]']) assert.ok(isIpLiteral(ip), ip);
    for (const name of ['localhost', '256.1.1.1', '2130706433', '1.2.3', '[:]', 'a:b']) assert.ok(!isIpLiteral(name), name);
  });

  test('with nothing configured: localhost and any IP address, with or without a port', () => {
    const allowed = allowedHostsFor({});
    for (const host of ['localhost', 'localhost:80', 'localhost:8080', '127.0.0.1', '127.0.0.1:39123', '[::1]:8080', '10.1.2.3:8080', '[2001:db8::1]']) {
      assert.ok(isHostAllowed(host, allowed), host);
    }
    for (const host of [undefined, '', 'evil.example', 'evil.example:8080', 'localhost.evil.example', 'foo.localhost', '127.0.0.1.nip.io']) {
      assert.ok(!isHostAllowed(host, allowed), String(host));
    }
  });

  test('the public URL host, a bind address that is a name, and OPSLOOP_ALLOWED_HOSTS entries', () => {
    const allowed = allowedHostsFor({ publicUrl: 'https://Ops.Example.com/base', bindHost: 'opsbox', extra: ['chat.example.org', '.corp.example'] });
    for (const host of ['ops.example.com', 'OPS.example.com:443', 'opsbox:8080', 'chat.example.org', 'corp.example', 'a.b.corp.example:8080']) {
      assert.ok(isHostAllowed(host, allowed), host);
    }
    for (const host of ['example.com', 'evil-ops.example.com', 'xcorp.example', 'chat.example.org.evil.example']) {
      assert.ok(!isHostAllowed(host, allowed), host);
    }
    assert.equal(describeAllowedHosts(allowed), 'localhost, ops.example.com, opsbox, chat.example.org, corp.example and *.corp.example, any IP address');
  });

  test('a wildcard or IP bind address adds no name; bound to 0.0.0.0 the machine stays reachable by its IPs', () => {
    for (const bindHost of ['0.0.0.0', '::', '127.0.0.1', '::1']) {
      assert.deepEqual(allowedHostsFor({ bindHost }), { names: ['localhost'], domains: [] }, bindHost);
    }
    assert.ok(isHostAllowed('192.168.1.20:8080', allowedHostsFor({ bindHost: '0.0.0.0' })));
  });

  test('OPSLOOP_ALLOWED_HOSTS entries are host names or .domains; anything else is refused', () => {
    assert.deepEqual(parseAllowedHostEntry(' Ops.Example.com '), { name: 'ops.example.com' });
    assert.deepEqual(parseAllowedHostEntry('.example.com'), { domain: 'example.com' });
    for (const bad of ['*', '*.example.com', 'https://x.example', 'x.example:8080', '', 'a b', '..example.com']) {
      assert.throws(() => parseAllowedHostEntry(bad), /not a host name/, bad);
    }
  });
});
