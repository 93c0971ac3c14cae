import { afterAll, beforeAll, describe, expect, it } from 'bun:test'
import { t as T } from 'elysia'
import { jsonDoc } from '../openapi/index.ts'
import { definePlugin } from '../plugin/index.ts'
import { createResponseCheck, responseCheckFor, type TestApp, testApp } from './index.ts'

const Thing = T.Object({ id: T.String(), size: T.Integer() })

/** Routes that answer what they document, and routes that do not. */
const fixture = definePlugin({
  name: 'check-fixture',
  setup: () => ({
    routes: {
      public: ({ router }) =>
        router('/check')
          .get('/good', () => ({ id: 'a', size: 1 }), { detail: { responses: { 200: jsonDoc('A thing', Thing) } } })
          .get('/wrong-type', () => ({ id: 'a', size: 'big' }), {
            detail: { responses: { 200: jsonDoc('A thing', Thing) } },
          })
          .get('/missing-field', () => ({ id: 'a' }), { detail: { responses: { 200: jsonDoc('A thing', Thing) } } })
          .get(
            '/teapot',
            ({ set }) => {
              set.status = 418
              return { id: 'a', size: 1 }
            },
            { detail: { responses: { 200: jsonDoc('A thing', Thing) } } },
          )
          .get('/text', () => new Response('plain', { headers: { 'content-type': 'text/plain' } }), {
            detail: { responses: { 200: jsonDoc('A thing', Thing) } },
          })
          // Declares nothing: a test-only route; its success body is not checked.
          .get('/undeclared', () => ({ anything: [1, 'two'] })),
    },
  }),
})

let t: TestApp
beforeAll(async () => {
  t = await testApp({ plugins: [fixture] })
})
afterAll(() => t?.close())

/** The Error the request threw (the check throws from inside the request call). */
async function refusal(request: Promise<unknown>): Promise<string> {
  try {
    await request
  } catch (err) {
    return (err as Error).message
  }
  throw new Error('the request did not throw')
}

describe('response check (every response a test sees agrees with the OpenAPI document)', () => {
  it('lets a response that matches its documented schema through, in v1, v2 and unversioned', async () => {
    expect((await t.get('/api/v1/public/check/good')).body).toEqual({ id: 'a', size: 1 })
    expect((await t.get('/api/v2/public/check/good')).body.data).toEqual({ id: 'a', size: 1 })
    const unversioned = await t.get('/api/public/check/good', { headers: { 'accept-version': 'v2' } })
    expect(unversioned.body.data.id).toBe('a')
  })

  it('throws naming method, path, status and the schema error for a body that does not match', async () => {
    for (const v of ['v1', 'v2']) {
      const message = await refusal(t.get(`/api/${v}/public/check/wrong-type`))
      expect(message).toContain(`GET /api/${v}/public/check/wrong-type -> 200`)
      expect(message).toContain('size')
      expect(message).toContain('must be integer')
    }
    expect(await refusal(t.get('/api/v1/public/check/missing-field'))).toContain("must have required property 'size'")
  })

  it('throws for a status the operation does not document', async () => {
    const message = await refusal(t.get('/api/v1/public/check/teapot'))
    expect(message).toContain('GET /api/v1/public/check/teapot -> 418')
    expect(message).toContain('status 418 is not documented')
  })

  it('throws for a content type the status does not list', async () => {
    expect(await refusal(t.get('/api/v2/public/check/text'))).toContain('content type text/plain is not documented')
  })

  it('checks errors of documented operations and of unknown paths against the error shape', async () => {
    expect((await t.get('/api/v2/public/check/nowhere')).status).toBe(404)
    expect((await t.get('/not-the-api')).status).toBe(404)
    expect((await t.delete('/api/v1/public/check/good')).status).toBe(404)
    expect((await t.get('/api/v9/public/check/good')).status).toBe(400)
    expect((await t.get(`/api/v2/public/check/good?q=${'x'.repeat(9000)}`)).status).toBe(414)
    const check = responseCheckFor(t.app)
    const text = (status: number, body: string, type: string) => ({
      status,
      headers: new Headers({ 'content-type': type }),
      body,
      text: body,
    })
    expect(check.problem('GET', '/elsewhere', text(404, 'Not Found', 'text/plain'))).toContain(
      "not the contract's JSON error",
    )
    const bare = { status: 404, headers: new Headers({ 'content-type': 'application/json' }), body: {}, text: '{}' }
    expect(check.problem('GET', '/elsewhere', bare)).toContain("must have required property 'error'")
    const v2 = {
      ...bare,
      status: 500,
      headers: new Headers({ 'content-type': 'application/json', 'x-api-version': 'v2' }),
    }
    const noMeta = { ...v2, body: { error: { code: 'INTERNAL_ERROR', message: 'x', details: {} } } }
    expect(check.problem('GET', '/api/v2/public/check/good', noMeta)).toContain("must have required property 'meta'")
    const unknownCode = { ...bare, status: 500, body: { error: { code: 'NOPE', message: 'x', details: {} } } }
    expect(check.problem('GET', '/api/v1/public/check/good', unknownCode)).toContain('allowed values')
  })

  it('checks only the status of a success from a route that declares no response', async () => {
    expect((await t.get('/api/v1/public/check/undeclared')).body).toEqual({ anything: [1, 'two'] })
  })

  it('skips the check for a request sent with validate: false', async () => {
    // The point of this test: the opt-out lets a mismatching answer through.
    const res = await t.get('/api/v1/public/check/wrong-type', { validate: false })
    expect(res.body.size).toBe('big')
  })

  it('reads the documents once per app and shares the compiled check between apps that serve the same ones', async () => {
    expect(responseCheckFor(t.app)).toBe(responseCheckFor(t.app))
    const other = await testApp({ plugins: [fixture] })
    try {
      expect(responseCheckFor(other.app)).toBe(responseCheckFor(t.app))
    } finally {
      await other.close()
    }
    const bare = await testApp()
    try {
      expect(responseCheckFor(bare.app)).not.toBe(responseCheckFor(t.app))
    } finally {
      await bare.close()
    }
  })

  it('validates against the document it is given', () => {
    const check = createResponseCheck(responseCheckFor(t.app).docs)
    const ok = { status: 200, headers: new Headers({ 'content-type': 'application/json' }), text: '' }
    expect(check.problem('GET', '/api/v1/public/check/good', { ...ok, body: { id: 'a', size: 2 } })).toBeUndefined()
    expect(check.problem('GET', '/api/v1/public/check/good', { ...ok, body: { id: 'a', size: 2.5 } })).toContain(
      'must be integer',
    )
  })
})
