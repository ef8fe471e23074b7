import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientGroup } from '../../src/anchoring/client-address.js';

describe('clientGroup', () => {
  it('an IPv4 address is its own group, mapped into IPv6 or not', () => {
    assert.equal(clientGroup('192.0.2.1'), '192.0.2.1');
    assert.equal(clientGroup('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(clientGroup('::FFFF:192.0.2.1'), '192.0.2.1');
    assert.notEqual(clientGroup('192.0.2.1'), clientGroup('192.0.2.2'));
  });

  it('IPv6 addresses of one /64 are one group, however they are written', () => {
    const group = '2001:db8:1:2::/64';
    for (const address of [
      '2001:db8:1:2::1',
      '2001:0db8:0001:0002:ffff:ffff:ffff:ffff',
      '2001:DB8:1:2:0:0:0:7',
      '2001:db8:1:2:a:b:1.2.3.4',
      '2001:db8:1:2::%eth0',
    ])
      assert.equal(clientGroup(address), group, address);
  });

  it('another /64 is another group, with the elided zeros counted', () => {
    assert.equal(clientGroup('2001:db8:1:3::1'), '2001:db8:1:3::/64');
    assert.equal(clientGroup('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(clientGroup('::1'), '0:0:0:0::/64');
    assert.equal(clientGroup('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(clientGroup('1:2:3:4:5:6:7::'), '1:2:3:4::/64');
  });

  it('what is not an IP address (a unix socket, undefined in a test) is kept as it is', () => {
    assert.equal(clientGroup(''), '');
    assert.equal(clientGroup('not an address'), 'not an address');
  });
});
