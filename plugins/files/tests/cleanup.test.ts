/** The files.cleanup-pending job with an injected clock: pending uploads past 24 hours go, confirmed ones stay. */
import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { PluginInstance } from '../../../core/index.ts'
import { testApp, type TestApp } from '../../../core/testing/index.ts'
import { createFilesPlugin } from '../index.ts'
import { tempDataDir, viaApp } from './support.ts'

const HOUR = 3_600_000
let offsetMs = 0
let t: TestApp
let dataDir: string
/** What the plugin's setup returned to the core in this app. */
let instance: PluginInstance<unknown>

beforeAll(async () => {
  dataDir = tempDataDir()
  const files = createFilesPlugin({ now: () => new Date(Date.now() + offsetMs) })
  const observed = {
    ...files,
    setup: async (ctx: Parameters<NonNullable<typeof files.setup>>[0]) => (instance = await files.setup!(ctx)),
  }
  t = await testApp({ plugins: [observed], env: { DATA_DIR: dataDir } })
})
afterAll(() => t?.close())

async function upload(name: string, confirm: boolean) {
  const up = (
    await t
      .as('alice')
      .post('/api/v1/app/files/upload-url', { filename: name, content_type: 'application/octet-stream', size: 3 })
  ).body
  const put = await viaApp(t.app, up.upload_url, {
    method: 'PUT',
    body: new Uint8Array([1, 2, 3]),
    headers: { 'content-type': 'application/octet-stream' },
  })
  expect(put.status).toBe(200)
  if (confirm) await t.as('alice').post('/api/v1/app/files/confirm', { file_id: up.file_id })
  return up as { file_id: string; key: string }
}

/** Runs the scheduled job the way the worker does. */
async function runCleanup() {
  await t.app.jobs.enqueue('files.cleanup-pending')
  expect(await t.app.jobs.runDue()).toBeGreaterThanOrEqual(1)
  const last = (await t.app.jobs.list({ queue: 'files.cleanup-pending', skip: 0, limit: 1 })).items[0]
  expect(last?.state).toBe('completed')
}

const status = async (id: string) => (await t.as('alice').get(`/api/v1/app/files/${id}`)).status

describe('files cleanup job', () => {
  it('is scheduled', () => {
    expect(instance.schedules).toEqual([{ job: 'files.cleanup-pending', cron: '23 * * * *' }])
  })

  it('removes unconfirmed uploads older than 24 hours with their object, and keeps confirmed ones', async () => {
    const pending = await upload('never-confirmed.bin', false)
    const pendingNoObject = (
      await t
        .as('alice')
        .post('/api/v1/app/files/upload-url', { filename: 'no-bytes.bin', content_type: 'text/plain', size: 9 })
    ).body
    const confirmed = await upload('kept.bin', true)

    offsetMs = 23 * HOUR
    await runCleanup()
    expect(await status(pending.file_id)).toBe(200)
    expect(existsSync(join(dataDir, 'files', pending.key))).toBe(true)

    offsetMs = 25 * HOUR
    await runCleanup()
    expect(await status(pending.file_id)).toBe(404)
    expect(await status(pendingNoObject.file_id)).toBe(404)
    expect(existsSync(join(dataDir, 'files', pending.key))).toBe(false)
    expect(await status(confirmed.file_id)).toBe(200)
    expect(existsSync(join(dataDir, 'files', confirmed.key))).toBe(true)
    offsetMs = 0
  })
})
