/** Organizations over HTTP: create, list, get, patch, delete, slugs (docs/plugins/organizations.md#routes). */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { orgsApp, type OrgTestApp } from './support.ts'

describe('organizations', () => {
  let t: OrgTestApp
  beforeAll(async () => {
    t = await orgsApp()
  })
  afterAll(() => t.close())

  it('creates an organization whose creator is its owner, with a slug from the name', async () => {
    const res = await t.as('alice').post('/api/v1/app/orgs', { name: 'Acme Corp!' })
    expect(res.status).toBe(201)
    expect(res.body).toMatchObject({ name: 'Acme Corp!', slug: 'acme-corp', role: 'owner' })
    const list = await t.as('alice').get('/api/v1/app/orgs')
    expect(list.status).toBe(200)
    expect(list.body.items.map((o: { id: string }) => o.id)).toContain(res.body.id)
    expect(list.body.total).toBe(1)
  })
})
