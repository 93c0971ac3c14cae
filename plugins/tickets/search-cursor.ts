/**
 * The keyset cursor of a `q` list (docs/plugins/tickets.md#search-and-lists), in the very format of
 * the core's paged() (docs/pagination.md): base64url of `<sort key in epoch microseconds>~<id>`.
 * A `q` list pages either here (matches up to the count cap, fetched GIN-first) or through paged()
 * (more matches than the cap), so a cursor handed out by one path must continue in the other.
 * The core door exports paged() but not its codec, hence this copy of it.
 */
import { isUuid, validation } from '../../core/index.ts'

export interface SearchCursor {
  /** The sort key in epoch microseconds (exact: a JS Date would round it to milliseconds). */
  key: string
  id: string
}

export const encodeSearchCursor = (key: string, id: string): string => Buffer.from(`${key}~${id}`).toString('base64url')

/** Parses a cursor; anything but one a list handed out is 422 VALIDATION_ERROR on `after`, as in paged(). */
export function decodeSearchCursor(after: string): SearchCursor {
  const bad = () =>
    validation('after', 'after is not a cursor this list handed out (use next_after from the previous page)')
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(after)) throw bad()
  const text = Buffer.from(after, 'base64url').toString('utf8')
  const at = text.indexOf('~')
  const key = text.slice(0, at)
  const id = text.slice(at + 1)
  if (at < 0 || !/^-?\d{1,18}$/.test(key) || !isUuid(id)) throw bad()
  return { key, id }
}
