/**
 * The route template of a request Elysia never routed: one refused before the handler stage
 * (401, 403, 413, 429...), so that metrics, the access log and the span name count it under its
 * route rather than `unmatched` (docs/observability.md#prometheus-metrics).
 *
 * A radix tree of every mounted route, built on first use (after every plugin has mounted) with
 * Elysia's own router class, whose store is the template: one tree walk per lookup, no regex scan.
 * Requests Elysia routed carry their template already and never come here.
 */
import type { AnyElysia } from 'elysia'

interface Tree {
  add(method: string, path: string, store: string): unknown
  find(method: string, path: string): { store: string } | null
}

/** `(method, path) => template`, or undefined when no mounted route matches (a 404 then). */
export type RouteOf = (method: string, path: string) => string | undefined

export function routeTable(root: AnyElysia): RouteOf {
  let tree: Tree | undefined
  return function routeOf(method, path) {
    tree ??= build(root)
    // Elysia answers `/x/` on the route `/x` (loose paths): so does the lookup.
    const p = path.length > 1 && path.charCodeAt(path.length - 1) === 47 ? path.slice(0, -1) : path
    const hit = tree.find(method, p) ?? (method === 'HEAD' ? tree.find('GET', p) : null) ?? tree.find('ALL', p)
    return hit?.store
  }
}

function build(root: AnyElysia): Tree {
  // Elysia's router (memoirist) is not a dependency of ours: take its class from the instance.
  const Router = (root.router.http as object).constructor as new () => Tree
  const tree = new Router()
  for (const r of root.routes) {
    if (r.method === 'WS') continue
    try {
      tree.add(r.method, r.path, r.path)
    } catch {
      // A path the tree refuses (a duplicate): the first one stands, as in Elysia.
    }
  }
  return tree
}
