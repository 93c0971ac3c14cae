/** `npm run doctor` for identity webhooks: the Clerk (svix) secret verifies a sample it signs; Supabase's is set. */
import { Webhook } from 'svix'
import { doctor, type DoctorCheck, type DoctorContext } from '../../core/index.ts'
import { clerkVerifier, verifyClerk } from './clerk.ts'

interface Config {
  clerkSecret?: string
  supabaseSecret?: string
}

export function identityWebhooksDoctor({ config }: DoctorContext<Config>): DoctorCheck[] {
  if (!config.clerkSecret && !config.supabaseSecret)
    return [
      doctor.warn(
        'webhook secrets',
        'neither CLERK_WEBHOOK_SECRET nor SUPABASE_WEBHOOK_SECRET is set: both webhooks answer 503',
        'set the secret of the provider that sends you user events (docs/plugins/identity-webhooks.md), or remove the plugin from the starter',
      ),
    ]
  const checks: DoctorCheck[] = []
  if (config.clerkSecret) checks.push(clerk(config.clerkSecret))
  if (config.supabaseSecret) checks.push(doctor.pass('SUPABASE_WEBHOOK_SECRET', 'set'))
  return checks
}

function clerk(secret: string): DoctorCheck {
  const name = 'CLERK_WEBHOOK_SECRET'
  const fix = "copy the endpoint's signing secret from the Clerk dashboard, Webhooks (whsec_...)"
  if (!/^whsec_[A-Za-z0-9+/=]+$/.test(secret)) return doctor.fail(name, 'not a svix signing secret (whsec_...)', fix)
  try {
    // A sample signed with the secret goes through the verification the webhook route uses.
    const raw = JSON.stringify({ type: 'user.deleted', data: { id: 'user_doctor', deleted: true } })
    const id = 'msg_doctor_sample'
    const at = new Date()
    const signature = new Webhook(secret).sign(id, at, raw)
    const headers = new Headers({
      'svix-id': id,
      'svix-timestamp': String(Math.floor(at.getTime() / 1000)),
      'svix-signature': signature,
    })
    verifyClerk(clerkVerifier(secret), raw, headers)
    return doctor.pass(name, 'whsec_...: verifies a sample it signed')
  } catch (err) {
    return doctor.fail(name, `a sample it signed does not verify: ${doctor.reason(err)}`, fix)
  }
}
