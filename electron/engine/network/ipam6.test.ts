import assert from 'node:assert/strict';
import { it } from 'node:test';
import { bigToIp6, Ipam6, ip6ToBig, normalizePool6, parseCidr6, randomUla } from './ipam6.ts';

it('parses and prints IPv6 addresses as RFC 5952 writes them', () => {
  for (const [text, canonical] of [['fd00:1::99', 'fd00:1::99'], ['FD00:0:0:0:0:0:0:1', 'fd00::1'], ['::', '::'], ['::1', '::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'], ['fe80::', 'fe80::']]) {
    assert.equal(bigToIp6(ip6ToBig(text)), canonical, text);
  }
  for (const bad of ['1::2::3', '12345::', 'fd00:1', 'g::1', '1:2:3:4:5:6:7:8:9']) assert.throws(() => ip6ToBig(bad), /invalid IPv6 address/, bad);
});

it('pools: the gateway first, host bits refused, addresses in order, a wanted one once', () => {
  assert.deepEqual(normalizePool6({ Subnet: 'fd00:b7::/64' }, randomUla()), { Subnet: 'fd00:b7::/64', Gateway: 'fd00:b7::1' });
  assert.throws(() => normalizePool6({ Subnet: 'fd00:b7::5/64' }, randomUla()), /has host bits set \(did you mean fd00:b7::\/64\?\)/);
  assert.throws(() => normalizePool6({ Subnet: 'fd00:b7::/64', Gateway: 'fd00:b8::1' }, randomUla()), /not a host address/);
  const ula = randomUla();
  assert.equal(ula.bits, 64);
  assert.equal(Number(ula.base >> 120n), 0xfd);
  assert.equal(parseCidr6('fd00:b7::/64').bits, 64);
  const used: Record<string, string> = { '10.0.0.2': 'x' };
  const ipam = new Ipam6({ Subnet: 'fd00:b7::/64', Gateway: 'fd00:b7::1' }, used);
  assert.equal(ipam.allocate('a'), 'fd00:b7::2');
  assert.equal(ipam.allocate('b', 'FD00:B7::99'), 'fd00:b7::99');
  assert.throws(() => ipam.allocate('c', 'fd00:b7::99'), /Address already in use/);
  assert.throws(() => ipam.allocate('c', 'fd00:b7::1'), /Address already in use/);
  assert.throws(() => ipam.allocate('c', 'fd00:b8::3'), /not in subnet fd00:b7::\/64/);
  assert.equal(ipam.allocate('c'), 'fd00:b7::3');
});
