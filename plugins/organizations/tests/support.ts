/** Test helpers of the organizations plugin: an app with users, email and organizations, a clock tests move. */
import type { App } from '../../../core/index.ts'
import { clientFor, signTestToken, testApp, type TestApp } from '../../../core/testing/index.ts'
import email from '../../email/index.ts'
import users from '../../users/index.ts'
import { createOrganizationsPlugin, type OrganizationsPluginOptions } from '../index.ts'

/** A clock tests move by hand. */
export function testClock(start = new Date('2026-03-02T09:00:00.000Z')) {
  let at = start.getTime()
  return {
    now: () => new Date(at),
    advance: (ms: number) => void (at += ms),
  }
}

export interface OrgTestApp extends TestApp {
  clock: ReturnType<typeof testClock>
}

export async function orgsApp(
  options: { env?: Record<string, string>; extra?: any[]; plugin?: OrganizationsPluginOptions } = {},
): Promise<OrgTestApp> {
  const clock = testClock()
  // Each timestamp a millisecond apart, so newest-first order is the order of the test's actions.
  const now = () => {
    clock.advance(1)
    return clock.now()
  }
  const t = await testApp({
    plugins: [users, email, createOrganizationsPlugin({ now, ...options.plugin }), ...(options.extra ?? [])],
    env: { RATE_LIMIT_DEFAULT: '100000/minute', ...options.env },
  })
  return Object.assign(t, { clock })
}

/** Creates an organization as `owner` and returns its id. */
export async function createOrg(t: TestApp, owner: string, name = `Org of ${owner}`): Promise<string> {
  const res = await t.as(owner).post('/api/v1/app/orgs', { name })
  if (res.status !== 201) throw new Error(`create org: ${res.status} ${res.text}`)
  return res.body.id
}

/** Runs the queued jobs, then reads the newest invitation email to `email`: its text and the token of its link. */
export async function invitationEmail(t: TestApp, email: string): Promise<{ text: string; token: string } | undefined> {
  await t.app.jobs.runDue()
  const [row] = await t.app.db.sql<{ text_body: string }[]>`
    select text_body from email_outbox where to_addresses ? ${email} and tag = 'organizations.invitation'
    order by created_at desc, id desc limit 1`
  if (!row) return undefined
  const token = /\/invitations\/([A-Za-z0-9_-]+)/.exec(row.text_body)?.[1]
  if (!token) throw new Error(`no invitation link in: ${row.text_body}`)
  return { text: row.text_body, token }
}

/** Invites `user` (email `<user>@example.com`) as `role` and accepts as them. */
export async function addMember(t: TestApp, orgId: string, by: string, user: string, role: string): Promise<void> {
  const email = `${user}@example.com`
  const inv = await t.as(by).post(`/api/v1/app/orgs/${orgId}/invitations`, { email, role })
  if (inv.status !== 201) throw new Error(`invite: ${inv.status} ${inv.text}`)
  const mail = await invitationEmail(t, email)
  const acc = await t.as(user).post(`/api/v1/app/invitations/${mail!.token}/accept`)
  if (acc.status !== 200) throw new Error(`accept: ${acc.status} ${acc.text}`)
}

/**
 * An app built apart (replicas, or apps taking turns on one database) used like testApp's: tokens
 * signed with the test secret its AUTH_JWT_SECRET must be; close() stops the app only.
 */
export function asTestApp(app: App): TestApp {
  const token: TestApp['token'] = (user, o) => signTestToken(user, undefined, o?.expiresIn)
  return { app, ...clientFor(app), as: (user) => clientFor(app, () => token(user)), token, close: () => app.stop() }
}
