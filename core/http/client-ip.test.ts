import { describe, expect, it } from 'bun:test'
import { clientIp, parseTrustedProxies } from './client-ip.ts'

describe('parseTrustedProxies', () => {
  it('trusts nobody when unset or empty', () => {
    for (const list of [undefined, '', ' , ']) {
      const trusted = parseTrustedProxies(list)
      expect(trusted('10.0.0.1')).toBe(false)
      expect(trusted('::1')).toBe(false)
    }
  })

  it('matches IPv4 CIDRs and single addresses', () => {
    const trusted = parseTrustedProxies('10.0.0.0/8, 192.168.1.7 ,172.16.0.0/12')
    expect(trusted('10.255.3.4')).toBe(true)
    expect(trusted('11.0.0.1')).toBe(false)
    expect(trusted('192.168.1.7')).toBe(true)
    expect(trusted('192.168.1.8')).toBe(false)
    expect(trusted('172.31.255.255')).toBe(true)
    expect(trusted('172.32.0.0')).toBe(false)
    expect(trusted('not-an-ip')).toBe(false)
  })

  it('matches IPv6 CIDRs and treats IPv4-mapped addresses as IPv4', () => {
    const trusted = parseTrustedProxies('fd00::/8,2001:db8:abcd::/48,::1')
    expect(trusted('fd12:3456::1')).toBe(true)
    expect(trusted('fe80::1')).toBe(false)
    expect(trusted('2001:db8:abcd:12::5')).toBe(true)
    expect(trusted('2001:DB8:ABCE::5')).toBe(false)
    expect(trusted('::1')).toBe(true)
    expect(trusted('0:0:0:0:0:0:0:1')).toBe(true)

    const v4 = parseTrustedProxies('10.0.0.0/8')
    expect(v4('::ffff:10.1.2.3')).toBe(true)
    expect(v4('::ffff:a01:203')).toBe(true)
    expect(v4('::ffff:11.1.2.3')).toBe(false)
    const mapped = parseTrustedProxies('::ffff:10.0.0.0/104')
    expect(mapped('10.9.9.9')).toBe(true)
    expect(mapped('11.9.9.9')).toBe(false)
    expect(parseTrustedProxies('0.0.0.0/0')('203.0.113.5')).toBe(true)
  })

  it('throws an error naming the bad entry', () => {
    for (const bad of [
      '10.0.0.0/33',
      '10.0.0/8',
      'proxy.local',
      '256.1.1.1',
      '10.0.0.0/',
      'fd00::/129',
      '1:2:3:4:5:6:7:8:9',
      '1::2::3',
      '::ffff:10.0.0.0/64',
    ]) {
      expect(() => parseTrustedProxies(`127.0.0.1, ${bad}`)).toThrow(`"${bad}"`)
    }
    expect(() => parseTrustedProxies('10.0.0.0/33')).toThrow('TRUSTED_PROXIES')
  })
})

describe('clientIp', () => {
  const proxies = parseTrustedProxies('10.0.0.0/8,fd00::/8')

  it('uses the peer address when no proxy is trusted, whatever X-Forwarded-For says', () => {
    const none = parseTrustedProxies(undefined)
    expect(clientIp('203.0.113.9', '1.2.3.4', none)).toBe('203.0.113.9')
    expect(clientIp('203.0.113.9', null, none)).toBe('203.0.113.9')
  })

  it('ignores X-Forwarded-For from an untrusted peer', () => {
    expect(clientIp('198.51.100.7', '1.2.3.4, 10.0.0.3', proxies)).toBe('198.51.100.7')
  })

  it('walks from the right behind a trusted proxy and stops at the first untrusted hop', () => {
    expect(clientIp('10.0.0.5', '203.0.113.9', proxies)).toBe('203.0.113.9')
    expect(clientIp('10.0.0.5', '203.0.113.9, 10.0.0.7, 10.1.1.1', proxies)).toBe('203.0.113.9')
  })

  it('does not let a spoofed left-most hop win', () => {
    // The client sent 'X-Forwarded-For: 1.1.1.1'; our proxy appended the address it saw.
    expect(clientIp('10.0.0.5', '1.1.1.1, 198.51.100.20', proxies)).toBe('198.51.100.20')
    expect(clientIp('10.0.0.5', '10.0.0.99, 198.51.100.20, 10.0.0.7', proxies)).toBe('198.51.100.20')
  })

  it('answers the left-most hop when every hop is a trusted proxy', () => {
    expect(clientIp('10.0.0.5', '10.0.0.1, 10.0.0.2', proxies)).toBe('10.0.0.1')
  })

  it('stops at a malformed hop and keeps the last good one', () => {
    expect(clientIp('10.0.0.5', '198.51.100.1, garbage, 10.0.0.7', proxies)).toBe('10.0.0.7')
    expect(clientIp('10.0.0.5', '198.51.100.1, unknown', proxies)).toBe('10.0.0.5')
    expect(clientIp('10.0.0.5', '', proxies)).toBe('10.0.0.5')
    expect(clientIp('10.0.0.5', '198.51.100.1,', proxies)).toBe('10.0.0.5')
  })

  it('handles IPv6 peers and hops, brackets, ports and mapped forms', () => {
    expect(clientIp('fd00::1', '2001:DB8:0:0:0:0:0:1, fd00::2', proxies)).toBe('2001:db8::1')
    expect(clientIp('fd00::1', '[2001:db8::7]:443', proxies)).toBe('2001:db8::7')
    expect(clientIp('::ffff:10.0.0.5', '203.0.113.9:51234', proxies)).toBe('203.0.113.9')
    expect(clientIp('10.0.0.5', '::ffff:203.0.113.9', proxies)).toBe('203.0.113.9')
    expect(clientIp('::ffff:198.51.100.3', null, proxies)).toBe('198.51.100.3')
    expect(clientIp('10.0.0.5', '2001:0:0:1:0:0:0:1', proxies)).toBe('2001:0:0:1::1')
  })

  it('says unknown when the runtime gave no peer address', () => {
    expect(clientIp(undefined, '1.2.3.4', proxies)).toBe('unknown')
  })
})
