import { BlockList, isIP, SocketAddress } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIp, inRange, limitKey, parseIp, parseRange } from './ip.js';

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
const v6 = fc
  .array(fc.nat(0xffff), { minLength: 8, maxLength: 8 })
  .map((w) => w.map((x) => x.toString(16)).join(':'));
// Any text that looks address-like: digits, hex, dots and colons in odd mixes.
const noise = fc.stringMatching(/^[0-9a-fA-F.:]{0,20}$/);

describe('parseIp', () => {
  it('accepts exactly what node:net accepts, for addresses and address-like noise', () => {
    fc.assert(
      fc.property(fc.oneof(v4, v6, noise), (text) => {
        expect(parseIp(text) !== undefined).toBe(isIP(text) !== 0);
      }),
      { numRuns: 5000 },
    );
  });

  it('writes an address as node:net does, IPv4-mapped IPv6 as IPv4', () => {
    fc.assert(
      fc.property(fc.oneof(v4, v6), (text) => {
        const expected = new SocketAddress({ address: text, family: isIP(text) === 4 ? 'ipv4' : 'ipv6' })
          .address;
        const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(expected);
        expect(formatIp(parseIp(text)!)).toBe(mapped ? mapped[1] : expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads compressed, mixed and zoned IPv6 forms', () => {
    expect(formatIp(parseIp('2001:DB8:0:0:0:0:0:1')!)).toBe('2001:db8::1');
    expect(formatIp(parseIp('::')!)).toBe('::');
    expect(formatIp(parseIp('::1')!)).toBe('::1');
    expect(formatIp(parseIp('::ffff:192.0.2.7')!)).toBe('192.0.2.7');
    expect(formatIp(parseIp('64:ff9b::192.0.2.7')!)).toBe('64:ff9b::c000:207');
    expect(formatIp(parseIp('fe80::1%eth0')!)).toBe('fe80::1');
  });

  it('refuses leading zeros, out-of-range octets, ports and names', () => {
    for (const bad of [
      '010.0.0.1',
      '256.1.1.1',
      '1.2.3',
      '1.2.3.4:80',
      '[::1]',
      'localhost',
      '',
      '1::2::3',
      ':::',
    ]) {
      expect(parseIp(bad), bad).toBeUndefined();
    }
  });
});

describe('ranges', () => {
  it('matches addresses as a node:net BlockList subnet does', () => {
    fc.assert(
      fc.property(fc.oneof(v4, v6), fc.oneof(v4, v6), fc.nat(128), (base, address, bits) => {
        const family = isIP(base) === 4 ? 'ipv4' : 'ipv6';
        const prefix = Math.min(bits, family === 'ipv4' ? 32 : 128);
        const list = new BlockList();
        list.addSubnet(base, prefix, family);
        const range = parseRange(`${base}/${prefix}`)!;
        const bytes = parseIp(address)!;
        const addressFamily = isIP(address) === 4 ? 'ipv4' : 'ipv6';
        expect(inRange(bytes, range)).toBe(list.check(address, addressFamily));
      }),
      { numRuns: 3000 },
    );
  });

  it('refuses bad prefixes', () => {
    for (const bad of ['10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/', '::/129', '10.0.0.0/08x', 'x/8']) {
      expect(parseRange(bad), bad).toBeUndefined();
    }
    expect(parseRange('10.0.0.0/8')).toEqual({ bytes: Uint8Array.of(10, 0, 0, 0), prefix: 8 });
  });
});

describe('limitKey', () => {
  it('counts IPv4 per address and IPv6 per /64', () => {
    expect(limitKey(parseIp('192.0.2.1')!)).toBe('192.0.2.1');
    expect(limitKey(parseIp('2001:db8:1:2:aaaa::1')!)).toBe('2001:db8:1:2::/64');
    expect(limitKey(parseIp('2001:db8:1:2:ffff:ffff:ffff:ffff')!)).toBe('2001:db8:1:2::/64');
    expect(limitKey(parseIp('2001:db8:1:3::1')!)).not.toBe(limitKey(parseIp('2001:db8:1:2::1')!));
  });
});
