/**
 * Invitation lifecycle (docs/plugins/organizations.md#invitations): the emailed link, accept by
 * the invited user, another address refused, expiry by the injected clock, single use, revoke,
 * decline, re-invite conflicts, the platform-admin override, and the token never stored or answered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createHash } from 'node:crypto'
import { createOrg, invitationEmail, orgsApp, type OrgTestApp } from './support.ts'

describe('invitations', () => {
  let t: OrgTestApp
  let org: string
  const url = (path = '') => `/api/v1/app/orgs/${org}/invitations${path}`
  const invite = (email: string, role = 'member') => t.as('owner').post(url(), { email, role })

  beforeAll(async () => {
    t = await orgsApp({ env: { PUBLIC_URL: 'https://app.example.com', ORG_INVITE_TTL_HOURS: '48' } })
    org = await createOrg(t, 'owner', 'Acme')
  })
  afterAll(() => t.close())

  it('emails a link to PUBLIC_URL/invitations/<token>; only the SHA-256 of the token is stored', async () => {
    const res = await invite('Carol@Example.com', 'admin')
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({
      email: 'carol@example.com',
      role: 'admin',
      status: 'pending',
      invited_by: 'owner',
    })
    expect(new Date(res.body.expires_at).getTime() - new Date(res.body.created_at).getTime()).toBe(48 * 3_600_000)
    const mail = await invitationEmail(t, 'carol@example.com')
    expect(mail!.text).toContain(`https://app.example.com/invitations/${mail!.token}`)
    expect(mail!.text).toContain('Acme')
    expect(Buffer.from(mail!.token, 'base64url').length).toBe(32)
    const [row] = await t.app.db.sql<
      { token_hash: string }[]
    >`select token_hash from org_invitations where id = ${res.body.id}`
    expect(row!.token_hash).toBe(createHash('sha256').update(mail!.token).digest('hex'))
    const list = await t.as('owner').get(url())
    expect(JSON.stringify(list.body)).not.toContain(mail!.token)
    expect(list.body.items[0]).toMatchObject({ id: res.body.id, status: 'pending' })
  })

  it('is accepted once by the invited user; another address is refused', async () => {
    await invite('dave@example.com', 'billing')
    const { token } = (await invitationEmail(t, 'dave@example.com'))!
    const wrong = await t.as('eve').post(`/api/v1/app/invitations/${token}/accept`)
    expect(wrong.status).toBe(403)
    expect(wrong.body.error.details.reason).toBe('invitation_email_mismatch')
    expect((await t.as('eve').get(`/api/v1/app/orgs/${org}`)).status).toBe(404)
    const ok = await t.as('dave').post(`/api/v1/app/invitations/${token}/accept`)
    expect(ok.status).toBe(200)
    expect(ok.body).toEqual({ org_id: org, role: 'billing' })
    expect((await t.as('dave').get(`/api/v1/app/orgs/${org}`)).body.role).toBe('billing')
    const again = await t.as('dave').post(`/api/v1/app/invitations/${token}/accept`)
    expect(again.status).toBe(409)
    expect(again.body.error.details.reason).toBe('invitation_accepted')
    const audit = await t.app.db
      .sql`select 1 from audit_logs where action = 'org.invitation_accept' and resource_id = ${org}`
    expect(audit.length).toBe(1)
  })

  it('refuses to invite a member again, or an address with a pending invitation', async () => {
    const member = await invite('dave@example.com')
    expect(member.status).toBe(409)
    expect(member.body.error.details.reason).toBe('already_member')
    await invite('frank@example.com')
    const dup = await invite('FRANK@example.com')
    expect(dup.status).toBe(409)
    expect(dup.body.error.details.reason).toBe('invitation_pending')
  })

  it('of concurrent invitations of one address, one is created and the others are 409', async () => {
    const answers = await Promise.all(Array.from({ length: 5 }, () => invite('kim@example.com')))
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409, 409, 409, 409])
    for (const a of answers.filter((x) => x.status === 409))
      expect(a.body.error.details.reason).toBe('invitation_pending')
  })

  it('expires after ORG_INVITE_TTL_HOURS (the injected clock); a new invitation may be sent then', async () => {
    await invite('gina@example.com')
    const { token } = (await invitationEmail(t, 'gina@example.com'))!
    t.clock.advance(48 * 3_600_000 + 1000)
    const late = await t.as('gina').post(`/api/v1/app/invitations/${token}/accept`)
    expect(late.status).toBe(409)
    expect(late.body.error.details.reason).toBe('invitation_expired')
    const list = await t.as('owner').get(url())
    expect(list.body.items.find((i: { email: string }) => i.email === 'gina@example.com').status).toBe('expired')
    expect((await invite('gina@example.com')).status).toBe(201)
  })

  it('revoked: 409 on accept; revoking twice is 409; an unknown invitation is 404', async () => {
    const res = await invite('hank@example.com')
    const { token } = (await invitationEmail(t, 'hank@example.com'))!
    expect((await t.as('owner').delete(url(`/${res.body.id}`))).status).toBe(204)
    const accept = await t.as('hank').post(`/api/v1/app/invitations/${token}/accept`)
    expect(accept.status).toBe(409)
    expect(accept.body.error.details.reason).toBe('invitation_revoked')
    expect((await t.as('owner').delete(url(`/${res.body.id}`))).status).toBe(409)
    expect((await t.as('owner').delete(url('/00000000-0000-4000-8000-000000000000'))).status).toBe(404)
    expect((await t.as('owner').delete(url('/nope'))).status).toBe(404)
  })

  it('declined: 204, then the invitation cannot be accepted', async () => {
    await invite('ivy@example.com')
    const { token } = (await invitationEmail(t, 'ivy@example.com'))!
    expect((await t.as('mallory').post(`/api/v1/app/invitations/${token}/decline`)).status).toBe(403)
    expect((await t.as('ivy').post(`/api/v1/app/invitations/${token}/decline`)).status).toBe(204)
    const accept = await t.as('ivy').post(`/api/v1/app/invitations/${token}/accept`)
    expect(accept.status).toBe(409)
    expect(accept.body.error.details.reason).toBe('invitation_declined')
    expect((await t.as('ivy').get(`/api/v1/app/orgs/${org}`)).status).toBe(404)
  })

  it('an unknown token is 404', async () => {
    const res = await t.as('ivy').post('/api/v1/app/invitations/not-a-token/accept')
    expect(res.status).toBe(404)
  })

  it('a platform admin may accept an invitation sent to another address (the override, audited)', async () => {
    // Created before its first request, so the user cache never held it as a plain user.
    await t.app.db
      .sql`insert into users (id, email, full_name, role) values ('root', 'root@example.com', 'root', 'admin')`
    await invite('jill@example.com')
    const { token } = (await invitationEmail(t, 'jill@example.com'))!
    const res = await t.as('root').post(`/api/v1/app/invitations/${token}/accept`)
    expect(res.status).toBe(200)
    const [entry] = await t.app.db.sql<{ details: { override?: string } }[]>`
      select details from audit_logs where action = 'org.invitation_accept' and actor_id = 'root'`
    expect(entry!.details.override).toBe('platform_admin')
  })

  it('answers the same in v2 (enveloped)', async () => {
    const res = await t.as('owner').get(`/api/v2/app/orgs/${org}/invitations`)
    expect(res.status).toBe(200)
    expect(Array.isArray(res.body.data)).toBe(true)
  })
})
