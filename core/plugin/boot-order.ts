/** The boot order of an app's plugins: dependencies (required, and optional ones when installed) first. */
import { orderPlugins } from './graph.ts'
import { dependencyNames, type AnyPlugin } from './types.ts'

export function bootOrder(plugins: readonly AnyPlugin[]): AnyPlugin[] {
  const nodes = plugins.map((plugin) => {
    const { required, optional } = dependencyNames(plugin)
    return { plugin, name: plugin.name, dependsOn: required, optional }
  })
  return orderPlugins(nodes).map((node) => node.plugin)
}
