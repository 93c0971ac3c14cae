/**
 * Flag evaluation, pure: a stable salted hash for percentage rollouts (docs/plugins/feature-flags.md) and the reason
 * each answer gives. The same flag, user and plan give the same answer on every replica.
 */
import { createHash } from 'node:crypto'
import { validation } from '../../core/index.ts'

export const FLAG_TYPES = ['boolean', 'percentage', 'user_list', 'plan_based'] as const
export type FlagType = (typeof FLAG_TYPES)[number]

/** A flag_type from a request body, or 422 naming the four. */
export function flagType(value: string | undefined): FlagType | undefined {
  if (value === undefined || (FLAG_TYPES as readonly string[]).includes(value)) return value as FlagType | undefined
  throw validation('flag_type', `flag_type must be one of ${FLAG_TYPES.join(', ')}`)
}

export const REASONS = [
  'not_found',
  'disabled',
  'expired',
  'enabled',
  'percentage_rollout',
  'not_in_rollout',
  'user_list',
  'not_in_user_list',
  'plan',
  'plan_not_included',
] as const
export type Reason = (typeof REASONS)[number]

export interface FlagRow {
  id: string
  key: string
  name: string
  description: string | null
  flag_type: FlagType
  is_enabled: boolean
  percentage: number
  user_ids: string[]
  plans: string[]
  expires_at: Date | null
  created_at: Date
  updated_at: Date
}

/** A row with its lists as sets, as the cache holds it. */
export interface CompiledFlag {
  row: FlagRow
  users: ReadonlySet<string>
  plans: ReadonlySet<string>
  expiresAt: number
}

export interface Evaluation {
  flag_key: string
  is_enabled: boolean
  reason: Reason
}

export const compile = (row: FlagRow): CompiledFlag => ({
  row,
  users: new Set(row.user_ids),
  plans: new Set(row.plans.map((p) => p.toLowerCase())),
  expiresAt: row.expires_at ? row.expires_at.getTime() : Number.POSITIVE_INFINITY,
})

/**
 * Where a user falls in a flag's rollout, in [0, 100): the first 32 bits of
 * sha256(flag key + ':' + user id) scaled to 100. Salted by the key, so two flags pick
 * independent users; enabled below the percentage, so raising it only adds users.
 */
export function rolloutBucket(flagKey: string, userId: string): number {
  const digest = createHash('sha256').update(`${flagKey}:${userId}`).digest()
  return (digest.readUInt32BE(0) / 0x1_0000_0000) * 100
}

export interface EvaluationInput {
  userId: string | null
  /** The user's plan, read only for plan_based flags. */
  plan: () => string
  now: number
}

export function evaluate(flag: CompiledFlag, input: EvaluationInput): Evaluation {
  const { row } = flag
  const out = (is_enabled: boolean, reason: Reason): Evaluation => ({ flag_key: row.key, is_enabled, reason })
  if (!row.is_enabled) return out(false, 'disabled')
  if (input.now >= flag.expiresAt) return out(false, 'expired')
  switch (row.flag_type) {
    case 'boolean':
      return out(true, 'enabled')
    case 'percentage':
      return input.userId !== null && rolloutBucket(row.key, input.userId) < row.percentage
        ? out(true, 'percentage_rollout')
        : out(false, 'not_in_rollout')
    case 'user_list':
      return input.userId !== null && flag.users.has(input.userId)
        ? out(true, 'user_list')
        : out(false, 'not_in_user_list')
    case 'plan_based':
      return flag.plans.has(input.plan().toLowerCase()) ? out(true, 'plan') : out(false, 'plan_not_included')
  }
}
