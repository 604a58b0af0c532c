import { describe, expect, it } from 'vitest';
import { isPrivateAddress, publicOnlyLookup, refusePrivateLiteral } from './host-policy.js';

describe('git host policy', () => {
  it.each([
    '127.0.0.1',
    '127.8.9.10',
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.251',
    '255.255.255.255',
    '::1',
    '::',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    'fe80::1',
    'fe80::1%eth0',
    'fd12:3456::1',
    'ff02::fb',
    '64:ff9b::a00:1',
    'not-an-address',
  ])('refuses %s', (ip) => expect(isPrivateAddress(ip)).toBe(true));

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '192.169.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])(
    'allows %s',
    (ip) => expect(isPrivateAddress(ip)).toBe(false),
  );

  it('refuses a name that resolves to a private address, and private IP literals in URLs', async () => {
    const err = await new Promise<unknown>((resolve) => publicOnlyLookup('localhost', {}, (e) => resolve(e)));
    expect(err).toMatchObject({ code: 'EPRIVATEHOST' });
    expect(() => refusePrivateLiteral('http://[::1]:8080/x.git')).toThrow(/private network/);
    expect(() => refusePrivateLiteral('http://0x7f000001/x.git')).toThrow(/private network/);
    expect(() => refusePrivateLiteral('https://example.org/x.git')).not.toThrow();
  });
});
