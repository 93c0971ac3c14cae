/**
 * Cross-tenant isolation across plugins (docs/plugins/organizations.md#the-org-websocket-channel):
 * a member of organization A, and A's own API key, reach nothing of B through the WebSocket
 * (`org:<B>`, `project:<B's project>`), also on a socket opened with `X-Organization-ID: <A>`;
 * naming B on the upgrade is 404; and B's projects and files stay unreachable by id, list and
 * search. Positive controls beside each refusal show the refusal is about B, not the socket.
 */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { createFilesPlugin } from '../../files/index.ts'
import { randomBytesOf, tempDataDir, viaApp } from '../../files/tests/support.ts'
import projects from '../../projects/index.ts'
import websocket from '../../websocket/index.ts'
import { rawUpgrade, serveApp, WsClient, type Served } from '../../websocket/tests/helpers.ts'
import { addMember, createOrg, orgsApp, type OrgTestApp } from './support.ts'

const inOrg = (org: string) => ({ 'X-Organization-ID': org })
const bearer = (key: string, headers: Record<string, string> = {}) => ({
  headers: { authorization: `Bearer ${key}`, ...headers },
})

describe('cross-tenant isolation: WebSocket, X-Organization-ID and organization keys', () => {
  let t: OrgTestApp
  let served: Served
  let a: string
  let b: string
  let key: string // A's key, role admin
  let pa: { id: string }
  let pb: { id: string }
  let fa: { id: string }
  let fb: { id: string }
  const sockets: WsClient[] = []

  /** upload-url, PUT, confirm as `user` in `org`; the confirmed file. */
  async function upload(user: string, org: string, name: string) {
    const data = randomBytesOf(32)
    const up = await t.as(user).post(
      '/api/v1/app/files/upload-url',
      { filename: name, content_type: 'text/plain', size: data.length },
      {
        headers: inOrg(org),
      },
    )
    expect(up.status).toBe(200)
    const put = await viaApp(t.app, up.body.upload_url, {
      method: 'PUT',
      body: data,
      headers: { 'content-type': 'text/plain' },
    })
    expect(put.status).toBe(200)
    const done = await t
      .as(user)
      .post('/api/v1/app/files/confirm', { file_id: up.body.file_id }, { headers: inOrg(org) })
    expect(done.status).toBe(200)
    return done.body
  }

  const open = async (token: string, headers?: Record<string, string>) => {
    const { client } = await WsClient.open(served.url(token), 5000, headers)
    sockets.push(client)
    return client
  }

  beforeAll(async () => {
    t = await orgsApp({ extra: [websocket, projects, createFilesPlugin()], env: { DATA_DIR: tempDataDir() } })
    served = serveApp(t.app)
    a = await createOrg(t, 'xa-own', 'Alpha')
    b = await createOrg(t, 'xb-own', 'Beta')
    await addMember(t, a, 'xa-own', 'xa-mem', 'member')
    await addMember(t, b, 'xb-own', 'xb-mem', 'member')
    const made = await t.as('xa-own').post(`/api/v1/app/orgs/${a}/api-keys`, {
      name: 'tenant walk',
      scopes: ['projects:read', 'files:read', 'orgs:read'],
      role: 'admin',
    })
    expect(made.status).toBe(201)
    key = made.body.key
    pa = (await t.as('xa-own').post('/api/v1/app/projects', { name: 'Orion alpha' }, { headers: inOrg(a) })).body
    pb = (await t.as('xb-own').post('/api/v1/app/projects', { name: 'Orion beta' }, { headers: inOrg(b) })).body
    fa = await upload('xa-own', a, 'alpha.txt')
    fb = await upload('xb-own', b, 'beta.txt')
  }, 60_000)
  afterAll(async () => {
    for (const s of sockets) s.close()
    await served?.server.shutdown()
    await t?.close()
  })

  it("a member of A joins neither org:<B> nor B's project channel, however the socket was opened", async () => {
    const member = await t.token('xa-mem')
    const cases: [string, WsClient, string | undefined][] = [
      ['JWT', await open(member), `org:${a}`],
      ['JWT + X-Organization-ID: A', await open(member, inOrg(a)), `project:${pa.id}`],
      ["A's key", await open(key), `project:${pa.id}`],
      ["A's key + X-Organization-ID: A", await open(key, inOrg(a)), `project:${pa.id}`],
    ]
    for (const [how, socket, allowed] of cases) {
      for (const channel of [`org:${b}`, `project:${pb.id}`]) {
        const frame = await socket.subscribe(channel)
        expect([how, channel, frame.type, frame.code]).toEqual([how, channel, 'error', 'FORBIDDEN'])
      }
      if (allowed) expect([how, (await socket.subscribe(allowed)).type]).toEqual([how, 'subscribed'])
    }
    // Nothing B publishes reaches them.
    expect((await t.as('xb-own').patch(`/api/v1/app/orgs/${b}`, { name: 'Beta 2' })).status).toBe(200)
    for (const [how, socket] of cases) {
      const leaked = await socket.collect((f) => String(f.channel ?? '').includes(b), 100)
      expect([how, leaked]).toEqual([how, []])
    }
  })

  it('naming B on the upgrade is 404 for a member of A and for A key; naming A opens', async () => {
    const member = await t.token('xa-mem')
    for (const token of [member, key]) {
      const path = `/api/v1/app/ws?token=${encodeURIComponent(token)}`
      const refused = await rawUpgrade(served.server.port, path, { headers: inOrg(b) })
      refused.socket.destroy()
      expect(refused.status).toBe(404)
      expect(JSON.parse(refused.body).error.code).toBe('NOT_FOUND')
      const opened = await rawUpgrade(served.server.port, path, { headers: inOrg(a) })
      opened.socket.destroy()
      expect(opened.status).toBe(101)
    }
  })

  it("A's key and A's members read none of B's projects and files: by id, list and search", async () => {
    const callers: [string, { headers: Record<string, string> }][] = [
      ["A's key", bearer(key)],
      ["A's key + X-Organization-ID: A", bearer(key, inOrg(a))],
      ['member of A + X-Organization-ID: A', bearer(await t.token('xa-mem'), inOrg(a))],
    ]
    for (const [who, init] of callers) {
      const project = await t.get(`/api/v1/app/projects/${pb.id}`, init)
      expect([who, project.status, project.body.error?.code]).toEqual([who, 404, 'NOT_FOUND'])
      const list = await t.get('/api/v1/app/projects', init)
      expect([who, list.body.items.map((p: { id: string }) => p.id)]).toEqual([who, [pa.id]])
      const search = await t.get('/api/v1/app/projects?search=orion', init)
      expect([who, search.body.items.map((p: { id: string }) => p.id)]).toEqual([who, [pa.id]])
      const beta = await t.get('/api/v1/app/projects?search=beta', init)
      expect([who, beta.body.total]).toEqual([who, 0])
      for (const path of [`/api/v1/app/files/${fb.id}`, `/api/v1/app/files/${fb.id}/download-url`])
        expect([who, path, (await t.get(path, init)).status]).toEqual([who, path, 404])
      const files = await t.get('/api/v1/app/files', init)
      expect([who, files.body.items.map((f: { id: string }) => f.id)]).toEqual([who, [fa.id]])
      expect((await t.get(`/api/v1/app/orgs/${b}`, init)).status).toBe(404)
    }
    // Naming B: 404 before anything of B is read.
    for (const init of [bearer(key, inOrg(b)), bearer(await t.token('xa-mem'), inOrg(b))]) {
      for (const path of ['/api/v1/app/projects', `/api/v1/app/projects/${pb.id}`, '/api/v1/app/files'])
        expect([path, (await t.get(path, init)).status]).toEqual([path, 404])
    }
  })
})
