/** The core's external services: Redis answers PING, the JWKS URL answers with keys. */
import { Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { fail, pass, reason, withTimeout, type DoctorCheck } from '../plugin/index.ts'
import type { LoadedConfig } from './variables.ts'

/** Redis: one RESP PING over TCP (TLS for rediss://), AUTH first when the URL carries a password. */
export async function checkRedis({ core }: LoadedConfig, timeoutMs: number): Promise<DoctorCheck[]> {
  if (!core.redisUrl) return [pass('redis', 'REDIS_URL unset: rate limits and events stay in this process')]
  const url = new URL(core.redisUrl)
  const target = `${url.hostname}:${url.port || 6379}`
  try {
    const answer = await withTimeout(redisPing(url), timeoutMs, `Redis at ${target}`)
    if (!answer.includes('PONG')) throw new Error(answer.trim() || 'no answer')
    return [pass('redis', `${target} answers PING`)]
  } catch (err) {
    return [
      fail(
        'redis',
        `REDIS_URL (${target}) unreachable: ${reason(err)}`,
        'check the host, port and password in REDIS_URL and that Redis accepts connections from here; unset it for one replica',
      ),
    ]
  }
}

function redisPing(url: URL): Promise<string> {
  const port = Number(url.port || 6379)
  const socket =
    url.protocol === 'rediss:'
      ? tlsConnect({ host: url.hostname, port, servername: url.hostname })
      : new Socket().connect(port, url.hostname)
  const bulk = (...parts: string[]) =>
    `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(p)}\r\n${p}\r\n`).join('')}`
  const password = decodeURIComponent(url.password)
  const user = decodeURIComponent(url.username)
  return new Promise<string>((resolve, reject) => {
    let out = ''
    socket.on('data', (d) => {
      out += d.toString()
      if (out.includes('PONG') || out.startsWith('-')) resolve(out)
    })
    socket.on('error', reject)
    socket.on('close', () => reject(new Error(out.trim() || 'connection closed')))
    socket.once(url.protocol === 'rediss:' ? 'secureConnect' : 'connect', () => {
      if (password) socket.write(user ? bulk('AUTH', user, password) : bulk('AUTH', password))
      socket.write(bulk('PING'))
    })
  }).finally(() => socket.destroy())
}

/** AUTH_JWKS_URL answers a JSON key set with at least one key. */
export async function checkJwks({ core }: LoadedConfig, timeoutMs: number): Promise<DoctorCheck[]> {
  if (!core.jwksUrl) return []
  const fix =
    'set AUTH_JWKS_URL to the key set of your identity provider (…/.well-known/jwks.json) and check that it is reachable from here'
  try {
    const res = await fetch(core.jwksUrl, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' })
    if (!res.ok) return [fail('AUTH_JWKS_URL', `${core.jwksUrl} answered ${res.status}`, fix)]
    const body = (await res.json()) as { keys?: unknown }
    const keys = Array.isArray(body.keys) ? body.keys.length : 0
    if (!keys) return [fail('AUTH_JWKS_URL', `${core.jwksUrl} answered no keys`, fix)]
    return [pass('AUTH_JWKS_URL', `${core.jwksUrl} answers ${keys} key${keys === 1 ? '' : 's'}`)]
  } catch (err) {
    return [fail('AUTH_JWKS_URL', `${core.jwksUrl} unreachable: ${reason(err)}`, fix)]
  }
}
