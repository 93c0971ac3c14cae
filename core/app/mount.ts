/**
 * Mounts every plugin's route factories under /api/{v}/{zone} for each version. Factories run
 * once per version (fresh instances: Elysia dedupes named instances, docs/performance-notes.md#named-instances-are-deduplicated) and each route
 * remembers its plugin, so OpenAPI can tag it.
 */
import { Elysia, type AnyElysia } from 'elysia'
import { API_VERSIONS, type ApiVersion } from '../http/index.ts'
import { authedRouter, publicRouter } from '../plugin/index.ts'
import type { AnyPlugin, PluginContext, PluginInstance, Zone } from '../plugin/index.ts'

export interface RouteOwner {
  plugin: string
  tag?: { name: string; description?: string }
  zone: Zone
}

/** A plugin after setup: its definition, the context it was given and the instance it returned. */
export interface MountedPlugin {
  plugin: AnyPlugin
  context: PluginContext<any, any>
  instance: PluginInstance<unknown, any, any>
}

export function mountPlugins(root: AnyElysia, plugins: readonly MountedPlugin[]): Map<string, RouteOwner> {
  const owners = new Map<string, RouteOwner>()
  for (const version of API_VERSIONS) {
    for (const { plugin, context, instance } of plugins) {
      for (const zone of ['public', 'app', 'admin'] as const) {
        const factory = instance.routes?.[zone]
        if (!factory) continue
        const ctx = { ...context, version, router: zone === 'public' ? publicRouter : authedRouter }
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
