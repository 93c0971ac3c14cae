/** The plugin contract: definePlugin, the context and instance types, routers, channels, the boot order. */
export {
  definePlugin,
  dependencyNames,
  type AnyPlugin,
  type ChannelAuthorizer,
  type DepsOf,
  type EventHandlers,
  type OptionalDependency,
  type OptionalRefs,
  type Plugin,
  type PluginContext,
  type PluginDefinition,
  type PluginInstance,
  type PluginRefs,
  type PortOf,
  type PublicRouteContext,
  type RateLimitClassDefinition,
  type RouteContext,
  type ServiceOf,
  type Zone,
} from './types.ts'
export { createChannelRegistry, type ChannelDecision, type ChannelRegistry } from './channels.ts'
export { bootOrder } from './boot-order.ts'
export { optional, portMismatches, type PortProviders } from './ports.ts'
export * from './doctor.ts'
export * from './sockets.ts'
export { orderPlugins, PluginGraphError } from './graph.ts'
export { authedRouter, publicRouter, type PublicRouterFactory, type RouterFactory } from './router.ts'
