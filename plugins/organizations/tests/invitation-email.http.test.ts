/**
 * Which sign-in accepts an invitation (docs/plugins/organizations.md#invitations): a session
 * whose token carries the invited address with `email_verified: true`. An unverified email, an
 * API key or another address is 403 with `details.reason`; the platform-admin override stays.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createOrg, invitationEmail, orgsApp, type OrgTestApp } from './support.ts'

describe('invitations need a verified email', () => {
  let t: OrgTestApp
  let org: string
  const accept = (token: string) => `/api/v1/app/invitations/${token}/accept`
  const decline = (token: string) => `/api/v1/app/invitations/${token}/decline`

  /** Invites `email` and answers the token of the emailed link. */
  const invite = async (email: string) => {
    const res = await t.as('ve-owner').post(`/api/v1/app/orgs/${org}/invitations`, { email, role: 'member' })
    expect(res.status).toBe(201)
    return (await invitationEmail(t, email))!.token
  }
  const memberIds = async () =>
    (await t.app.db.sql<{ user_id: string }[]>`select user_id from org_memberships where org_id = ${org}`).map(
      (r) => r.user_id,
    )

  beforeAll(async () => {
    t = await orgsApp()
    org = await createOrg(t, 've-owner', 'Verified Inc')
  })
  afterAll(() => t.close())

  it('accepts the session whose token verified the invited address', async () => {
    const token = await invite('vera@example.com')
    const res = await t.as({ sub: 'vera', email: 'Vera@Example.com', email_verified: true }).post(accept(token))
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ org_id: org, role: 'member' })
    expect(await memberIds()).toContain('vera')
  })

  it('refuses an unverified email (no claim, false), to accept and to decline, and changes nothing', async () => {
    const token = await invite('uma@example.com')
    for (const claims of [
      { sub: 'uma', email: 'uma@example.com' },
      { sub: 'uma', email: 'uma@example.com', email_verified: false },
      { sub: 'uma', email: 'uma@example.com', email_verified: 'false' },
    ]) {
      for (const path of [accept(token), decline(token)]) {
        const res = await t.as(claims).post(path)
        expect(res.status).toBe(403)
        expect(res.body.error.code).toBe('AUTHORIZATION_ERROR')
        expect(res.body.error.details).toEqual({ reason: 'email_not_verified' })
      }
    }
    expect(await memberIds()).not.toContain('uma')
    // Verified later, the same invitation is still good.
    const ok = await t.as({ sub: 'uma', email: 'uma@example.com', email_verified: true }).post(accept(token))
    expect(ok.status).toBe(200)
  })

  it('refuses a verified session of another address', async () => {
    const token = await invite('wendy@example.com')
    const res = await t.as({ sub: 'walt', email: 'walt@example.com', email_verified: true }).post(accept(token))
    expect(res.status).toBe(403)
    expect(res.body.error.details).toEqual({ reason: 'invitation_email_mismatch' })
    expect(await memberIds()).not.toContain('walt')
  })

  it("trusts the token's verified address over the stored one (changed at the provider)", async () => {
    await t.app.db.sql`insert into users (id, email, full_name) values ('nick', 'old-nick@example.com', 'nick')`
    const token = await invite('new-nick@example.com')
    const res = await t.as({ sub: 'nick', email: 'new-nick@example.com', email_verified: true }).post(accept(token))
    expect(res.status).toBe(200)
  })

  it('accepts the string "true" some providers send (Cognito)', async () => {
    const token = await invite('cora@example.com')
    const res = await t.as({ sub: 'cora', email: 'cora@example.com', email_verified: 'true' }).post(accept(token))
    expect(res.status).toBe(200)
  })

  it("refuses the invited user's own API key: keys carry no verified email", async () => {
    const token = await invite('kai@example.com')
    const made = await t.as('kai').post('/api/v1/app/api-keys', { name: 'k', scopes: ['orgs:write'] })
    expect(made.status).toBe(201)
    const res = await t.post(accept(token), undefined, { headers: { authorization: `Bearer ${made.body.key}` } })
    expect(res.status).toBe(403)
    expect(res.body.error.details).toEqual({ reason: 'email_not_verified' })
  })

  it('keeps the platform-admin override, verified or not (audited)', async () => {
    await t.app.db
      .sql`insert into users (id, email, full_name, role) values ('va-root', 'root@ops.example', 'root', 'admin')`
    const token = await invite('someone@example.com')
    const res = await t.as({ sub: 'va-root', email: 'root@ops.example' }).post(accept(token))
    expect(res.status).toBe(200)
    const [entry] = await t.app.db.sql<{ details: { override?: string } }[]>`
      select details from audit_logs where action = 'org.invitation_accept' and actor_id = 'va-root'`
    expect(entry!.details.override).toBe('platform_admin')
  })
})
