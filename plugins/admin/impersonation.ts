/**
 * Impersonation (docs/plugins/admin.md, docs/auth.md#impersonation): a server-signed JWT for the target with `act: {sub: admin}`,
 * at most one hour, audited before it is issued. Its session row is the revocation list, read on
 * every request made with the token, so a stop (or the admin's demotion) applies at once everywhere.
 */
import { randomBytes } from 'node:crypto'
import { jwt } from '@elysiajs/jwt'
import {
  badRequest,
  conflict,
  forbidden,
  isAdmin,
  notFound,
  unauthenticated,
  validation,
  type AuditRequest,
  type CredentialResolver,
  type PluginContext,
  type Principal,
  type Sql,
  type User,
} from '../../core/index.ts'

/** The only /admin path an impersonation token may reach. */
export const STOP_PATH = '/admin/impersonate/stop'
const HEADER = { alg: 'HS256', kid: 'omnistack-impersonation', typ: 'JWT' } as const
const ISSUER = 'omnistack'
const AUDIENCE = 'omnistack-impersonation'

/**
 * Signs and verifies with @elysiajs/jwt (jose underneath). The plugin's `sign`/`verify` pair is
 * taken from its decorator because both run outside a route: `start` in the service, `verify` in
 * the credential resolver the core's authenticator calls; and the secret is known only after init().
 */
const tokens = (secret: string) =>
  jwt({
    name: 'impersonationToken',
    secret,
    alg: HEADER.alg,
    kid: HEADER.kid,
    typ: HEADER.typ,
    iss: ISSUER,
    aud: AUDIENCE,
  }).decorator.impersonationToken

export interface ImpersonationStarted {
  message: string
  impersonated_user: { id: string; email: string | null; full_name: string | null }
  token: string
  expires_at: Date
}

export interface ImpersonationService {
  /** Loads (or creates) the signing secret and registers the bearer resolver. */
  init(): Promise<void>
  start(
    principal: Principal,
    input: { user_id: string; reason?: string },
    req: AuditRequest,
  ): Promise<ImpersonationStarted>
  stop(
    principal: Principal,
    req: AuditRequest,
  ): Promise<{ message: string; impersonated_user: ImpersonationStarted['impersonated_user']; ended_at: Date }>
  readonly resolver: CredentialResolver
}

export interface ImpersonationOptions {
  /** IMPERSONATION_SECRET; unset = a random secret generated once and kept in the database. */
  secret?: string
  /** IMPERSONATION_TTL_MINUTES (1-60). */
  ttlMinutes: number
  /** IMPERSONATION_REQUIRE_REASON: a start without a (non-blank) reason is 422 with details.field "reason". */
  requireReason?: boolean
  /** The users plugin's test for service users (docs/auth.md#service-users): they are not impersonated. */
  isServiceUser: (id: string) => boolean
}

interface Claims {
  sub: string
  act: { sub: string }
  jti: string
  exp: number
}

type SessionRow = User & {
  imp_actor_role: User['role']
  imp_actor_active: boolean
  imp_ended_at: Date | null
  imp_expires_at: Date
}

const who = (u: User) => ({ id: u.id, email: u.email, full_name: u.full_name })

export function createImpersonation(
  ctx: Pick<PluginContext, 'sql' | 'audit' | 'auth' | 'events'>,
  options: ImpersonationOptions,
): ImpersonationService {
  const sql: Sql = ctx.sql
  /** Tokens whose signature was checked, until their exp (the session row is still read every time). */
  const verified = new Map<string, Claims>()
  let signer: ReturnType<typeof tokens> | undefined
  // The protected header is serialised as given (alg, kid, typ), so every token starts with this segment.
  const prefix = Buffer.from(JSON.stringify(HEADER)).toString('base64url') + '.'

  const verify = async (token: string): Promise<Claims> => {
    const hit = verified.get(token)
    if (hit && hit.exp * 1000 > Date.now()) return hit
    try {
      const payload = await signer!.verify(token, { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE })
      if (!payload) throw new Error('bad signature, issuer, audience or expiry')
      const act = payload.act as { sub?: unknown } | undefined
      if (
        typeof payload.sub !== 'string' ||
        typeof act?.sub !== 'string' ||
        typeof payload.jti !== 'string' ||
        typeof payload.exp !== 'number'
      ) {
        throw new Error('incomplete claims')
      }
      const claims: Claims = { sub: payload.sub, act: { sub: act.sub }, jti: payload.jti, exp: payload.exp }
      if (verified.size >= 1000) verified.delete(verified.keys().next().value as string)
      verified.set(token, claims)
      return claims
    } catch {
      throw unauthenticated('Invalid or expired impersonation token')
    }
  }

  const resolver: CredentialResolver = {
    matches: (token) => token.startsWith(prefix),
    async resolve(token) {
      if (!signer) throw unauthenticated('Impersonation is not ready')
      const claims = await verify(token)
      // One round trip: the session (revocation), the admin (still an active admin) and the target.
      const [row] = await sql<SessionRow[]>`
        select u.*, a.role as imp_actor_role, a.is_active as imp_actor_active, s.ended_at as imp_ended_at, s.expires_at as imp_expires_at
        from impersonation_sessions s join users u on u.id = s.target_id join users a on a.id = s.actor_id
        where s.id = ${claims.jti}::uuid and s.target_id = ${claims.sub} and s.actor_id = ${claims.act.sub}`
      if (!row || row.imp_ended_at || row.imp_expires_at.getTime() <= Date.now())
        throw unauthenticated('Impersonation session has ended')
      if (!row.imp_actor_active || !isAdmin(row.imp_actor_role))
        throw unauthenticated('Impersonation session is no longer valid')
      const { imp_actor_role: _r, imp_actor_active: _a, imp_ended_at: _e, imp_expires_at: _x, ...target } = row
      if (isAdmin(target.role)) throw unauthenticated('Impersonation session is no longer valid')
      return {
        user: target,
        kind: 'impersonation',
        scopes: 'all',
        actorId: claims.act.sub,
        credentialId: claims.jti,
        adminPaths: [STOP_PATH],
      }
    },
  }

  return {
    resolver,

    async init() {
      let secret = options.secret
      if (!secret) {
        await sql`insert into impersonation_secret (id, secret) values (1, ${randomBytes(48).toString('base64url')}) on conflict (id) do nothing`
        secret = (await sql<{ secret: string }[]>`select secret from impersonation_secret where id = 1`)[0]!.secret
      }
      signer = tokens(secret)
      ctx.auth.addResolver(resolver)
    },

    async start(principal, input, req) {
      if (principal.actorId) throw forbidden('An impersonation cannot start another one')
      const actor = principal.user
      // Optional (docs/plugins/admin.md sends only user_id) unless IMPERSONATION_REQUIRE_REASON; blank = not given.
      const reason = input.reason?.trim() || null
      if (!reason && options.requireReason)
        throw validation('reason', 'reason is required (IMPERSONATION_REQUIRE_REASON)')
      // A service user (docs/auth.md#service-users) is no one to impersonate: 404 like an unknown id.
      const [target] = options.isServiceUser(input.user_id)
        ? []
        : await sql<User[]>`select * from users where id = ${input.user_id}`
      if (!target) throw notFound('User', input.user_id)
      if (target.id === actor.id) throw forbidden('You cannot impersonate yourself')
      if (isAdmin(target.role)) throw forbidden('Admins and superadmins cannot be impersonated', { role: target.role })
      if (!target.is_active) throw conflict('A deactivated user cannot be impersonated', { user_id: target.id })
      const seconds = options.ttlMinutes * 60
      // The audit entry commits with the session, before any token exists.
      const session = await sql.begin(async (tx) => {
        const [s] = (await tx`
          insert into impersonation_sessions (actor_id, target_id, reason, expires_at)
          values (${actor.id}, ${target.id}, ${reason}, date_trunc('second', now()) + ${seconds}::int * interval '1 second')
          returning id, expires_at`) as unknown as [{ id: string; expires_at: Date }]
        const a = ctx.audit.from(req)
        await ctx.audit.record(
          {
            ...a,
            action: 'impersonate.start',
            resource_type: 'user',
            resource_id: target.id,
            details: {
              ...a.details,
              ...(reason ? { reason } : {}),
              impersonation_id: s.id,
              expires_at: s.expires_at.toISOString(),
            },
          },
          tx,
        )
        return s
      })
      const token = await signer!.sign({
        sub: target.id,
        jti: session.id,
        act: { sub: actor.id },
        exp: Math.floor(session.expires_at.getTime() / 1000),
      })
      return { message: 'Impersonation started', impersonated_user: who(target), token, expires_at: session.expires_at }
    },

    async stop(principal, req) {
      if (principal.kind !== 'impersonation' || !principal.actorId || !principal.credentialId) {
        throw badRequest('Not impersonating: call this with the impersonation token')
      }
      const id = principal.credentialId
      const ended = await sql.begin(async (tx) => {
        const [s] = (await tx`
          update impersonation_sessions set ended_at = now(), ended_by = ${principal.actorId!}
          where id = ${id}::uuid and ended_at is null returning ended_at`) as unknown as [
          { ended_at: Date } | undefined,
        ]
        if (!s) throw unauthenticated('Impersonation session has ended')
        const a = ctx.audit.from(req)
        await ctx.audit.record(
          {
            ...a,
            action: 'impersonate.stop',
            resource_type: 'user',
            resource_id: principal.user.id,
            details: { ...a.details, impersonation_id: id },
          },
          tx,
        )
        return s.ended_at
      })
      for (const [token, c] of verified) if (c.jti === id) verified.delete(token)
      await ctx.events.publish('impersonation.ended', { id }, { broadcast: true })
      // Open WebSocket connections and event streams made with the token close on every replica.
      await ctx.events.publish('credential.revoked', { id }, { broadcast: true })
      return { message: 'Impersonation stopped', impersonated_user: who(principal.user), ended_at: ended }
    },
  }
}
