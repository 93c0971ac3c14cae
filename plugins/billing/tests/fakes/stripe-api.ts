/** A local fake of Stripe's API speaking its wire format: form-encoded requests, Stripe JSON objects, list envelopes and error bodies. */
import { randomBytes } from 'node:crypto'

export interface RecordedRequest {
  method: string
  path: string
  query: Record<string, string>
  form: Record<string, any>
  headers: Record<string, string>
}

type Obj = Record<string, any>
const rid = (prefix: string) => `${prefix}_${randomBytes(12).toString('hex')}`
const now = () => Math.floor(Date.now() / 1000)

/** `a[b][0][c]=v` -> { a: { b: [ { c: 'v' } ] } }, as Stripe's form encoding nests. */
export function decodeForm(text: string): Obj {
  const out: Obj = {}
  for (const [key, value] of new URLSearchParams(text)) {
    const path = key.replace(/\]/g, '').split('[')
    let node: Obj = out
    path.forEach((k, i) => {
      if (i === path.length - 1) node[k] = value
      else node = node[k] ??= /^\d+$/.test(path[i + 1]!) ? [] : {}
    })
  }
  return out
}

const stripeError = (status: number, type: string, message: string, extra: Obj = {}) =>
  Response.json({ error: { type, message, ...extra } }, { status, headers: { 'request-id': rid('req') } })

export interface FakeStripe {
  url: string
  key: string
  requests: RecordedRequest[]
  customers: Map<string, Obj>
  subscriptions: Map<string, Obj>
  invoices: Obj[]
  prices: Set<string>
  /** The next `times` requests answer `status` with a Stripe error body. */
  fail(status: number, times?: number, body?: { type: string; message: string; code?: string }): void
  /** A subscription in the current API shape (period on the item), as Stripe would hold it. */
  addSubscription(customer: string, price: string, metadata?: Obj, status?: string, quantity?: number): Obj
  close(): void
}

export function startFakeStripe(options: { key?: string; prices?: string[] } = {}): FakeStripe {
  const key = options.key ?? 'sk_test_fake0123456789abcdefwxyz'
  const requests: RecordedRequest[] = []
  const customers = new Map<string, Obj>()
  const subscriptions = new Map<string, Obj>()
  const invoices: Obj[] = []
  const prices = new Set(options.prices ?? ['price_monthly_test', 'price_yearly_test'])
  const idempotent = new Map<string, { status: number; body: Obj }>()
  let failures: { status: number; times: number; body: { type: string; message: string; code?: string } } | undefined

  const subscriptionObject = (
    customer: string,
    price: string,
    metadata: Obj = {},
    status = 'active',
    quantity = 1,
  ): Obj => {
    const start = now()
    const id = rid('sub')
    return {
      id,
      object: 'subscription',
      customer,
      status,
      livemode: false,
      metadata,
      cancel_at: null,
      cancel_at_period_end: false,
      canceled_at: null,
      created: start,
      items: {
        object: 'list',
        data: [
          {
            id: rid('si'),
            object: 'subscription_item',
            price: { id: price, object: 'price', product: 'prod_test' },
            current_period_start: start,
            current_period_end: start + 30 * 86400,
            quantity,
            subscription: id,
          },
        ],
        has_more: false,
        url: `/v1/subscription_items?subscription=${id}`,
      },
    }
  }

  const route = (method: string, path: string, form: Obj, query: Record<string, string>): Response => {
    let m: RegExpExecArray | null
    if (method === 'POST' && path === '/v1/customers') {
      const c = {
        id: rid('cus'),
        object: 'customer',
        created: now(),
        livemode: false,
        email: form.email ?? null,
        name: form.name ?? null,
        metadata: form.metadata ?? {},
      }
      customers.set(c.id, c)
      return Response.json(c)
    }
    if (method === 'POST' && path === '/v1/checkout/sessions') {
      if (!customers.has(form.customer))
        return stripeError(400, 'invalid_request_error', `No such customer: '${form.customer}'`, {
          code: 'resource_missing',
          param: 'customer',
        })
      const price = form.line_items?.[0]?.price
      if (!prices.has(price))
        return stripeError(400, 'invalid_request_error', `No such price: '${price}'`, {
          code: 'resource_missing',
          param: 'line_items[0][price]',
        })
      const id = rid('cs_test')
      return Response.json({
        id,
        object: 'checkout.session',
        mode: form.mode,
        customer: form.customer,
        client_reference_id: form.client_reference_id ?? null,
        metadata: form.metadata ?? {},
        success_url: form.success_url,
        cancel_url: form.cancel_url,
        status: 'open',
        payment_status: 'unpaid',
        subscription: null,
        url: `https://checkout.stripe.com/c/pay/${id}`,
        livemode: false,
      })
    }
    if (method === 'POST' && path === '/v1/billing_portal/sessions') {
      if (!customers.has(form.customer))
        return stripeError(400, 'invalid_request_error', `No such customer: '${form.customer}'`, {
          code: 'resource_missing',
          param: 'customer',
        })
      return Response.json({
        id: rid('bps'),
        object: 'billing_portal.session',
        customer: form.customer,
        return_url: form.return_url,
        url: `https://billing.stripe.com/p/session/test_${randomBytes(8).toString('hex')}`,
        livemode: false,
      })
    }
    if (method === 'GET' && path === '/v1/invoices') {
      const limit = Number(query.limit ?? 10)
      const data = invoices
        .filter((i) => !query.customer || i.customer === query.customer)
        .sort((a, b) => b.created - a.created)
      return Response.json({
        object: 'list',
        data: data.slice(0, limit),
        has_more: data.length > limit,
        url: '/v1/invoices',
      })
    }
    if ((m = /^\/v1\/subscription_items\/([^/]+)$/.exec(path)) && method === 'POST') {
      const item = [...subscriptions.values()].flatMap((s) => s.items.data as Obj[]).find((i) => i.id === m![1])
      if (!item)
        return stripeError(404, 'invalid_request_error', `No such subscription_item: '${m[1]}'`, {
          code: 'resource_missing',
          param: 'id',
        })
      const proration = form.proration_behavior
      if (proration !== undefined && !['create_prorations', 'none', 'always_invoice'].includes(proration))
        return stripeError(
          400,
          'invalid_request_error',
          `Invalid proration_behavior: must be one of create_prorations, none, or always_invoice`,
          {
            param: 'proration_behavior',
          },
        )
      if (form.quantity !== undefined) {
        if (!/^\d+$/.test(form.quantity))
          return stripeError(400, 'invalid_request_error', 'Invalid integer: ' + form.quantity, { param: 'quantity' })
        item.quantity = Number(form.quantity)
      }
      return Response.json(item)
    }
    if ((m = /^\/v1\/subscriptions\/([^/]+)$/.exec(path))) {
      const sub = subscriptions.get(m[1]!)
      if (!sub)
        return stripeError(404, 'invalid_request_error', `No such subscription: '${m[1]}'`, {
          code: 'resource_missing',
          param: 'id',
        })
      if (method === 'GET') return Response.json(sub)
      if (method === 'DELETE') {
        if (sub.status === 'canceled')
          return stripeError(400, 'invalid_request_error', 'This subscription has already been canceled.')
        Object.assign(sub, { status: 'canceled', canceled_at: now(), ended_at: now(), cancel_at_period_end: false })
        return Response.json(sub)
      }
      if (method === 'POST') {
        if (form.cancel_at_period_end !== undefined) {
          sub.cancel_at_period_end = form.cancel_at_period_end === 'true'
          sub.cancel_at = sub.cancel_at_period_end ? sub.items.data[0].current_period_end : null
        }
        return Response.json(sub)
      }
    }
    return stripeError(404, 'invalid_request_error', `Unrecognized request URL (${method}: ${path}).`)
  }

  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const url = new URL(req.url)
      const text = req.method === 'GET' || req.method === 'DELETE' ? '' : await req.text()
      const headers = Object.fromEntries(req.headers)
      const record: RecordedRequest = {
        method: req.method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        form: decodeForm(text),
        headers,
      }
      requests.push(record)
      if (failures && failures.times > 0) {
        failures.times--
        return stripeError(
          failures.status,
          failures.body.type,
          failures.body.message,
          failures.body.code ? { code: failures.body.code } : {},
        )
      }
      if (req.headers.get('authorization') !== `Bearer ${key}`) {
        const given = (req.headers.get('authorization') ?? '').replace(/^Bearer /, '')
        return stripeError(
          401,
          'invalid_request_error',
          `Invalid API Key provided: ${given.slice(0, 8)}****${given.slice(-4)}`,
        )
      }
      const idem = req.headers.get('idempotency-key')
      const stored = idem && req.method === 'POST' ? idempotent.get(idem) : undefined
      if (stored)
        return Response.json(stored.body, { status: stored.status, headers: { 'idempotent-replayed': 'true' } })
      const res = route(req.method, url.pathname, record.form, record.query)
      if (idem && req.method === 'POST') idempotent.set(idem, { status: res.status, body: await res.clone().json() })
      return res
    },
  })

  return {
    url: `http://127.0.0.1:${server.port}`,
    key,
    requests,
    customers,
    subscriptions,
    invoices,
    prices,
    fail(status, times = 1, body = { type: 'api_error', message: `Something went wrong on Stripe's end. Key ${key}` }) {
      failures = { status, times, body }
    },
    addSubscription(customer, price, metadata = {}, status = 'active', quantity = 1) {
      const sub = subscriptionObject(customer, price, metadata, status, quantity)
      subscriptions.set(sub.id, sub)
      return sub
    },
    close: () => server.stop(true),
  }
}
