import { describe, expect, it } from 'bun:test'
import { orderPlugins } from './graph.ts'

describe('plugin graph', () => {
  it('boots dependencies first and keeps the given order otherwise', () => {
    const order = orderPlugins([
      { name: 'projects', dependsOn: ['users'] },
      { name: 'contact' },
      { name: 'users' },
      { name: 'admin', dependsOn: ['users', 'projects'] },
    ]).map((p) => p.name)
    expect(order).toEqual(['users', 'projects', 'contact', 'admin'])
  })

  it('boots an installed optional dependency first and ignores an absent one', () => {
    const order = orderPlugins([
      { name: 'flags', optional: ['billing', 'absent'] },
      { name: 'users' },
      { name: 'billing', dependsOn: ['users'] },
    ]).map((p) => p.name)
    expect(order).toEqual(['users', 'billing', 'flags'])
    expect(orderPlugins([{ name: 'flags', optional: ['billing'] }]).map((p) => p.name)).toEqual(['flags'])
  })

  it('names both plugins of a cycle through an optional dependency', () => {
    expect(() =>
      orderPlugins([
        { name: 'a', optional: ['b'] },
        { name: 'b', dependsOn: ['a'] },
      ]),
    ).toThrow(/depend on each other/)
  })

  it('names both plugins when a dependency is missing', () => {
    expect(() => orderPlugins([{ name: 'projects', dependsOn: ['users'] }])).toThrow(
      'Plugin "projects" depends on "users", which is not installed',
    )
  })

  it('names both plugins of a cycle', () => {
    expect(() =>
      orderPlugins([
        { name: 'a', dependsOn: ['b'] },
        { name: 'b', dependsOn: ['a'] },
      ]),
    ).toThrow(/Plugins "a" and "b" depend on each other \(cycle: a -> b -> a\)/)
  })

  it('refuses a plugin registered twice', () => {
    expect(() => orderPlugins([{ name: 'a' }, { name: 'a' }])).toThrow('registered twice')
  })
})
