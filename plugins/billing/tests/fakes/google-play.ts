/**
 * A local fake of Google's OAuth token endpoint and the Play Developer API, speaking their wire
 * format: a form-encoded jwt-bearer grant whose RS256 assertion is verified against the service
 * account's key, SubscriptionPurchaseV2 JSON, `:acknowledge`, and Google's error bodies.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { importSPKI, jwtVerify } from 'jose'

type Obj = Record<string, any>
const DAY = 86_400_000

export interface PlayRequest {
  method: string
  path: string
  authorization: string | null
}

export interface PurchaseOptions {
  state?: string
  productId?: string
  expiry?: number
  autoRenew?: boolean
  acknowledged?: boolean
  linkedPurchaseToken?: string
  accountId?: string
  test?: boolean
}

export interface FakePlay {
  url: string
  packageName: string
  /** The service-account key file's content (JSON), token_uri pointing here. */
  serviceAccountJson: string
  clientEmail: string
  requests: PlayRequest[]
  tokenRequests: number
  acknowledged: string[]
  /** Sets what subscriptionsv2.get answers for `token`. */
  setPurchase(token: string, o?: PurchaseOptions): Obj
  /** The next `times` API calls (not token exchanges) answer `status` with Google's error body. */
  fail(status: number, times?: number): void
  /** Invalidates every access token issued so far (the next API call gets 401). */
  revokeTokens(): void
  close(): void
}

const googleError = (code: number, message: string, status: string) =>
  Response.json(
    { error: { code, message, errors: [{ message, domain: 'global', reason: status.toLowerCase() }], status } },
    { status: code },
  )

export function startFakePlay(options: { packageName?: string } = {}): FakePlay {
  const packageName = options.packageName ?? 'com.example.app'
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  })
  const clientEmail = 'billing@example-project.iam.gserviceaccount.com'
  const purchases = new Map<string, Obj>()
  const tokens = new Set<string>()
  const requests: PlayRequest[] = []
  const acknowledged: string[] = []
  let failures: { status: number; left: number } | undefined
  let tokenRequests = 0

  const exchange = async (req: Request, url: string) => {
    tokenRequests++
    const form = new URLSearchParams(await req.text())
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer')
      return Response.json(
        { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' },
        { status: 400 },
      )
    try {
      const { payload } = await jwtVerify(form.get('assertion') ?? '', await importSPKI(publicKey, 'RS256'), {
        issuer: clientEmail,
        audience: url,
        algorithms: ['RS256'],
      })
      if (!String(payload.scope).split(' ').includes('https://www.googleapis.com/auth/androidpublisher'))
        throw new Error('scope')
    } catch {
      return Response.json({ error: 'invalid_grant', error_description: 'Invalid JWT Signature.' }, { status: 400 })
    }
    const access = `ya29.${randomBytes(24).toString('base64url')}`
    tokens.add(access)
    return Response.json({ access_token: access, expires_in: 3599, token_type: 'Bearer' })
  }

  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const u = new URL(req.url)
      if (u.pathname === '/token' && req.method === 'POST') return exchange(req, `${u.origin}/token`)
      requests.push({
        method: req.method,
        path: decodeURIComponent(u.pathname),
        authorization: req.headers.get('authorization'),
      })
      const bearer = /^Bearer (.+)$/.exec(req.headers.get('authorization') ?? '')?.[1]
      if (!bearer || !tokens.has(bearer))
        return googleError(
          401,
          'Request had invalid authentication credentials. Expected OAuth 2 access token.',
          'UNAUTHENTICATED',
        )
      if (failures && failures.left > 0) {
        failures.left--
        return googleError(
          failures.status,
          'The service is currently unavailable.',
          failures.status === 503 ? 'UNAVAILABLE' : 'INTERNAL',
        )
      }
      const prefix = `/androidpublisher/v3/applications/${packageName}/purchases/`
      const path = decodeURIComponent(u.pathname)
      if (!path.startsWith(prefix))
        return googleError(404, 'No application was found for the given package name.', 'NOT_FOUND')
      const get = /^subscriptionsv2\/tokens\/([^/]+)$/.exec(path.slice(prefix.length))
      if (get && req.method === 'GET') {
        const p = purchases.get(get[1]!)
        return p
          ? Response.json(p)
          : googleError(400, 'The purchase token does not match the package name.', 'INVALID_ARGUMENT')
      }
      const ack = /^subscriptions\/([^/]+)\/tokens\/([^/]+):acknowledge$/.exec(path.slice(prefix.length))
      if (ack && req.method === 'POST') {
        const p = purchases.get(ack[2]!)
        if (!p?.lineItems.some((i: Obj) => i.productId === ack[1]))
          return googleError(400, 'The purchase token does not match the product.', 'INVALID_ARGUMENT')
        p.acknowledgementState = 'ACKNOWLEDGEMENT_STATE_ACKNOWLEDGED'
        acknowledged.push(ack[2]!)
        return new Response('', { status: 200 })
      }
      return googleError(404, 'Not Found', 'NOT_FOUND')
    },
  })
  const url = `http://127.0.0.1:${server.port}`

  return {
    url,
    packageName,
    clientEmail,
    requests,
    get tokenRequests() {
      return tokenRequests
    },
    acknowledged,
    serviceAccountJson: JSON.stringify({
      type: 'service_account',
      project_id: 'example-project',
      private_key_id: randomBytes(20).toString('hex'),
      private_key: privateKey,
      client_email: clientEmail,
      client_id: '100000000000000000001',
      auth_uri: 'https://accounts.google.com/o/oauth2/auth',
      token_uri: `${url}/token`,
    }),
    setPurchase(token, o = {}) {
      const p: Obj = {
        kind: 'androidpublisher#subscriptionPurchaseV2',
        regionCode: 'US',
        startTime: new Date(Date.now() - DAY).toISOString(),
        subscriptionState: o.state ?? 'SUBSCRIPTION_STATE_ACTIVE',
        latestOrderId: `GPA.${randomBytes(8).toString('hex')}`,
        acknowledgementState:
          o.acknowledged === false ? 'ACKNOWLEDGEMENT_STATE_PENDING' : 'ACKNOWLEDGEMENT_STATE_ACKNOWLEDGED',
        lineItems: [
          {
            productId: o.productId ?? 'pro_monthly',
            expiryTime: new Date(o.expiry ?? Date.now() + 30 * DAY).toISOString(),
            autoRenewingPlan: { autoRenewEnabled: o.autoRenew ?? true },
            offerDetails: { basePlanId: 'monthly', offerTags: [] },
          },
        ],
        ...(o.linkedPurchaseToken ? { linkedPurchaseToken: o.linkedPurchaseToken } : {}),
        ...(o.accountId ? { externalAccountIdentifiers: { obfuscatedExternalAccountId: o.accountId } } : {}),
        ...(o.test ? { testPurchase: {} } : {}),
      }
      purchases.set(token, p)
      return p
    },
    fail(status, times = 1) {
      failures = { status, left: times }
    },
    revokeTokens: () => tokens.clear(),
    close: () => server.stop(true),
  }
}
