/**
 * How deep a JSON text nests, found in one pass without recursion (docs/security.md#bodies): a
 * body nested thousands of levels deep costs seconds in schema validation and overflows the
 * stack while the error is built, so it is refused before anything parses it.
 */

/** The first depth above `max` makes it stop: the result is then `max + 1`. Brackets in strings do not count. */
export function jsonDepth(text: string, max: number): number {
  let depth = 0
  let deepest = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92)
        i++ // backslash: the next character is escaped
      else if (c === 34) inString = false
      continue
    }
    if (c === 34) inString = true
    else if (c === 123 || c === 91) {
      if (++depth > deepest) {
        deepest = depth
        if (deepest > max) return deepest
      }
    } else if (c === 125 || c === 93) depth--
  }
  return deepest
}
