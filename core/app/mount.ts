/**
 * Mounts every plugin's route factories under /api/{v}/{zone} for each version. Factories run
 * once per version (fresh instances: Elysia dedupes named instances, PITFALLS) and each route
 * remembers its plugin, so OpenAPI can tag it.
 */
import { Elysia, type AnyElysia } from 'elysia'
import { API_VERSIONS, type ApiVersion } from '../http/versioning.ts'
import { authedRouter, publicRouter } from '../plugin/router.ts'
import type { AnyPlugin, PluginContext, Zone } from '../plugin/types.ts'

export interface RouteOwner {
  plugin: string
  tag?: { name: string; description?: string }
  zone: Zone
}

export function mountPlugins(
  root: AnyElysia,
  plugins: readonly AnyPlugin[],
  contextOf: (p: AnyPlugin) => PluginContext<any>,
): Map<string, RouteOwner> {
  const owners = new Map<string, RouteOwner>()
  for (const version of API_VERSIONS) {
    for (const plugin of plugins) {
      for (const zone of ['public', 'app', 'admin'] as const) {
        const factory = plugin[zone]
        if (!factory) continue
        const ctx = { ...contextOf(plugin), version, router: zone === 'public' ? publicRouter : authedRouter }
        const routes = (factory as (c: typeof ctx) => AnyElysia)(ctx)
        const before = root.routes.length
        root.use(new Elysia({ prefix: `/api/${version}/${zone}` }).use(routes))
        for (const r of root.routes.slice(before)) {
          owners.set(`${r.method} ${r.path}`, { plugin: plugin.name, tag: plugin.tag, zone })
        }
      }
    }
  }
  return owners
}

export const versions: readonly ApiVersion[] = API_VERSIONS
