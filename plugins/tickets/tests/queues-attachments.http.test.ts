/** Queues (admin writes, 409 on a non-empty delete, default assignee, stats), watchers, and attachments through the local driver. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { base, keyHeader, ticketsApp, viaApp, type TicketsTestApp } from './support.ts'

let t: TicketsTestApp

beforeAll(async () => {
  t = await ticketsApp({ env: { MAX_UPLOAD_BYTES: '1000' } })
  await t.user('agent1', 'agent')
  await t.user('agent2', 'agent')
  await t.user('boss', 'admin')
  await t.user('alice')
  await t.user('bob')
})
afterAll(() => t?.close())

const open = async (user: string, body: Record<string, unknown> = {}) => {
  const res = await t.as(user).post(base, { title: 'Help', description: 'Please', ...body })
  expect(res.status).toBe(201)
  return res.body
}

describe('queues', () => {
  it('admins write, staff read, requesters and agents cannot write', async () => {
    expect((await t.as('agent1').post(`${base}/queues`, { name: 'Nope' })).status).toBe(403)
    expect((await t.as('alice').post(`${base}/queues`, { name: 'Nope' })).status).toBe(403)
    expect(
      (await t.post(`${base}/queues`, { name: 'Nope' }, { headers: keyHeader('boss', 'tickets:read') })).status,
    ).toBe(403)
    const q = await t.as('boss').post(`${base}/queues`, { name: 'Hardware', description: 'Things with plugs' })
    expect(q.status).toBe(201)
    expect(q.body).toEqual({
      id: expect.any(String),
      name: 'Hardware',
      description: 'Things with plugs',
      default_assignee_id: null,
    })
    expect((await t.as('boss').post(`${base}/queues`, { name: 'hardware' })).status).toBe(409)
    expect((await t.as('boss').post(`${base}/queues`, { name: '' })).body.error.details.field).toBe('name')
    const notStaff = await t.as('boss').post(`${base}/queues`, { name: 'X', default_assignee_id: 'bob' })
    expect(notStaff.status).toBe(422)
    expect(notStaff.body.error.details.field).toBe('default_assignee_id')
    expect((await t.as('agent1').get(`${base}/queues/${q.body.id}`)).body.name).toBe('Hardware')
    expect((await t.as('alice').get(`${base}/queues`)).status).toBe(403)
    expect((await t.as('agent1').patch(`${base}/queues/${q.body.id}`, { name: 'HW' })).status).toBe(403)
    const patched = await t.as('boss').patch(`${base}/queues/${q.body.id}`, { name: 'HW' })
    expect(patched.body).toMatchObject({ name: 'HW', description: 'Things with plugs' })
    const list = await t.as('agent1').get(`${base}/queues`)
    expect(list.body).toMatchObject({ total: 1, skip: 0, limit: 20 })
    expect((await t.as('agent1').get(`${base}/queues/${crypto.randomUUID()}`)).status).toBe(404)
  })

  it('applies the default assignee, refuses to delete a non-empty queue (409), reports stats', async () => {
    const q = (await t.as('boss').post(`${base}/queues`, { name: 'Network', default_assignee_id: 'agent2' })).body
    const tk = await open('agent1', { queue_id: q.id, requester_id: 'alice' })
    expect(tk).toMatchObject({ queue_id: q.id, assignee_id: 'agent2', requester_id: 'alice' })
    expect((await t.as('agent1').get(`${base}?queue_id=${q.id}`)).body.items.map((i: any) => i.id)).toEqual([tk.id])
    expect((await t.as('agent2').get(`${base}?assignee_id=me`)).body.items.map((i: any) => i.id)).toEqual([tk.id])
    const badQueue = await t.as('agent1').post(base, { title: 'x', description: 'y', queue_id: crypto.randomUUID() })
    expect(badQueue.status).toBe(422)
    expect(badQueue.body.error.details.field).toBe('queue_id')

    const del = await t.as('boss').delete(`${base}/queues/${q.id}`)
    expect(del.status).toBe(409)
    expect(del.body.error.code).toBe('CONFLICT')

    await t.as('agent2').post(`${base}/${tk.id}/comments`, { body_md: 'Rebooted the switch' })
    await t.as('agent2').patch(`${base}/${tk.id}`, { status: 'resolved' })
    const stats = await t.as('agent1').get(`${base}/queues/${q.id}/stats`)
    expect(stats.status).toBe(200)
    expect(stats.body).toMatchObject({ open: 0, pending: 0, in_progress: 0, resolved_today: 1, sla_attainment: 1 })
    expect(stats.body.avg_first_response_ms).toBeGreaterThan(0)

    await t.as('agent1').patch(`${base}/${tk.id}`, { queue_id: null })
    expect((await t.as('boss').delete(`${base}/queues/${q.id}`)).status).toBe(204)
    expect((await t.as('agent1').get(`${base}/queues/${q.id}`)).status).toBe(404)
  })
})

describe('watchers', () => {
  it('staff add (201 then 200), list and remove watchers; watchers are staff', async () => {
    const tk = await open('alice')
    const add = await t.as('agent1').post(`${base}/${tk.id}/watchers`, { user_id: 'agent2' })
    expect(add.status).toBe(201)
    expect((await t.as('agent1').post(`${base}/${tk.id}/watchers`, { user_id: 'agent2' })).status).toBe(200)
    const notStaff = await t.as('agent1').post(`${base}/${tk.id}/watchers`, { user_id: 'bob' })
    expect(notStaff.status).toBe(422)
    expect(notStaff.body.error.details.field).toBe('user_id')
    const list = await t.as('agent1').get(`${base}/${tk.number}/watchers`)
    expect(list.body).toMatchObject({ items: ['agent2'], total: 1 })
    expect((await t.as('agent1').delete(`${base}/${tk.id}/watchers/agent2`)).status).toBe(204)
    expect((await t.as('agent1').get(`${base}/${tk.id}/watchers`)).body.items).toEqual([])
  })
})

describe('attachments', () => {
  it('round-trips through the local driver: presign, PUT, confirm, list, download, delete', async () => {
    const tk = await open('alice')
    const data = new Uint8Array([0, 1, 2, 250, 251, 252, 7])
    const pre = await t.as('alice').post(`${base}/${tk.id}/attachments/presign`, {
      filename: '../screen shot.png',
      bytes: data.length,
      mime: 'image/png',
    })
    expect(pre.status).toBe(201)
    // (Not toMatchObject with expect.any(): bun 1.4 writes the matcher into the received object.)
    expect(typeof pre.body.attachment_id).toBe('string')
    expect(typeof pre.body.upload_url).toBe('string')
    expect(pre.body.headers).toEqual({ 'Content-Type': 'image/png' })
    // Not uploaded yet: confirm refuses, the list is empty.
    const early = await t.as('alice').post(`${base}/${tk.id}/attachments`, { attachment_id: pre.body.attachment_id })
    expect(early.status).toBe(400)
    const put = await viaApp(t.app, pre.body.upload_url, { method: 'PUT', body: data, headers: pre.body.headers })
    expect(put.status).toBe(200)
    const conf = await t.as('alice').post(`${base}/${tk.id}/attachments`, { attachment_id: pre.body.attachment_id })
    expect(conf.status).toBe(201)
    expect(conf.body).toEqual({ id: pre.body.attachment_id })
    const list = await t.as('agent1').get(`${base}/${tk.number}/attachments`)
    expect(list.body.total).toBe(1)
    expect(list.body.items[0]).toEqual({
      id: pre.body.attachment_id,
      filename: '_screen shot.png',
      bytes: 7,
      mime: 'image/png',
      created_at: expect.any(String),
    })
    const dl = await t.as('alice').get(`${base}/${tk.id}/attachments/${pre.body.attachment_id}/download-url`)
    expect(dl.status).toBe(200)
    expect(dl.body.expires_in).toBeGreaterThan(0)
    const got = await viaApp(t.app, dl.body.download_url)
    expect(got.status).toBe(200)
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(data)
    // Someone else: 404; the uploader or staff may delete.
    expect((await t.as('bob').get(`${base}/${tk.id}/attachments/${pre.body.attachment_id}/download-url`)).status).toBe(
      404,
    )
    expect((await t.as('alice').delete(`${base}/${tk.id}/attachments/${pre.body.attachment_id}`)).status).toBe(204)
    expect((await t.as('alice').get(`${base}/${tk.id}/attachments`)).body.total).toBe(0)
    expect((await viaApp(t.app, dl.body.download_url)).status).toBe(404)
  })

  it('a declared size over MAX_UPLOAD_BYTES is 413 at presign; bad input is 422', async () => {
    const tk = await open('alice')
    const big = await t.as('alice').post(`${base}/${tk.id}/attachments/presign`, {
      filename: 'big.bin',
      bytes: 1001,
      mime: 'application/octet-stream',
    })
    expect(big.status).toBe(413)
    expect(big.body.error.code).toBe('PAYLOAD_TOO_LARGE')
    expect(
      (
        await t.as('alice').post(`${base}/${tk.id}/attachments/presign`, {
          filename: 'ok.bin',
          bytes: 1000,
          mime: 'application/octet-stream',
        })
      ).status,
    ).toBe(201)
    for (const [body, field] of [
      [{ filename: '', bytes: 1, mime: 'text/plain' }, 'filename'],
      [{ filename: 'a', bytes: 0, mime: 'text/plain' }, 'bytes'],
      [{ filename: 'a', bytes: 1, mime: 'nope' }, 'mime'],
    ] as const) {
      const res = await t.as('alice').post(`${base}/${tk.id}/attachments/presign`, body)
      expect(res.status).toBe(422)
      expect(res.body.error.details.field).toBe(field)
    }
  })

  it('only the uploader or staff delete an attachment', async () => {
    const tk = await open('agent1', { requester_id: 'alice' })
    const pre = await t
      .as('agent1')
      .post(`${base}/${tk.id}/attachments/presign`, { filename: 'log.txt', bytes: 2, mime: 'text/plain' })
    await viaApp(t.app, pre.body.upload_url, { method: 'PUT', body: 'ok', headers: pre.body.headers })
    expect(
      (await t.as('agent1').post(`${base}/${tk.id}/attachments`, { attachment_id: pre.body.attachment_id })).status,
    ).toBe(201)
    expect((await t.as('alice').delete(`${base}/${tk.id}/attachments/${pre.body.attachment_id}`)).status).toBe(403)
    expect((await t.as('agent2').delete(`${base}/${tk.id}/attachments/${pre.body.attachment_id}`)).status).toBe(204)
  })
})
