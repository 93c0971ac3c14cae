/**
 * Answers that stay open with long silences between writes (event streams). The pipeline marks
 * them as it builds them, so the runtime can lift its idle timeout for these alone without
 * reading the headers of every answer (bench/README.md#the-response-headers).
 */
const longLived = new WeakSet<Response>()

export function markLongLived(res: Response): Response {
  longLived.add(res)
  return res
}

export const isLongLived = (res: Response): boolean => longLived.has(res)
