/** A local JWKS standing in for Google's OIDC keys, and Pub/Sub push bodies with tokens signed by it. */
import { randomUUID } from 'node:crypto'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose'

export interface FakeGoogle {
  jwksUrl: string
  /** An OIDC token as Pub/Sub push sends it; `key: 'other'` signs with a key not in the JWKS. */
  token(claims?: {
    aud?: string
    email?: string
    email_verified?: boolean
    iss?: string
    key?: 'other'
  }): Promise<string>
  close(): void
}

export async function startFakeGoogle(): Promise<FakeGoogle> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true })
  const other = await generateKeyPair('RS256', { extractable: true })
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key-1', alg: 'RS256', use: 'sig' }
  const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => Response.json({ keys: [jwk] }) })
  return {
    jwksUrl: `http://127.0.0.1:${server.port}/oauth2/v3/certs`,
    async token(c = {}) {
      const key: CryptoKey = c.key === 'other' ? other.privateKey : privateKey
      return new SignJWT({
        email: c.email ?? 'pubsub@example-project.iam.gserviceaccount.com',
        email_verified: c.email_verified ?? true,
      })
        .setProtectedHeader({ alg: 'RS256', kid: 'test-key-1', typ: 'JWT' })
        .setIssuer(c.iss ?? 'https://accounts.google.com')
        .setAudience(c.aud ?? 'https://api.example.com/api/v1/public/webhooks/google')
        .setSubject('112233445566778899')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(key)
    },
    close: () => server.stop(true),
  }
}

/** The DeveloperNotification of a subscription event, as Play sends it. */
export const developerNotification = (o: {
  type: number
  token: string
  subscriptionId?: string
  packageName?: string
  eventTimeMillis?: number
}) => ({
  version: '1.0',
  packageName: o.packageName ?? 'com.example.app',
  eventTimeMillis: String(o.eventTimeMillis ?? Date.now()),
  subscriptionNotification: {
    version: '1.0',
    notificationType: o.type,
    purchaseToken: o.token,
    subscriptionId: o.subscriptionId ?? 'pro_monthly',
  },
})

/** A Pub/Sub push body carrying `notification` base64-encoded. */
export const pushBody = (notification: unknown, messageId: string = randomUUID()) => ({
  message: {
    data: Buffer.from(JSON.stringify(notification)).toString('base64'),
    messageId,
    message_id: messageId,
    publishTime: new Date().toISOString(),
  },
  subscription: 'projects/example/subscriptions/play-rtdn',
})
