import { describe, expect, it } from 'bun:test'
import { optional, portMismatches } from './ports.ts'
import { definePlugin } from './types.ts'

const greeter = definePlugin({
  name: 'test-greeter',
  setup: () => ({ service: { greet: (n: string) => `hello ${n}`, count: 1 } }),
})
const host = definePlugin({
  name: 'test-host',
  optionalDependsOn: { greeter: optional<{ greet(n: string): string }>('test-greeter') },
  setup: ({ deps }) => {
    // Typed as the port or undefined: no cast, no import of the provider.
    const hello: string | undefined = deps.greeter?.greet('port')
    return { service: { hello } }
  },
})

describe('optional dependencies by name', () => {
  it('makes a reference by plugin name and refuses what is not one', () => {
    expect(optional('feature-flags')).toEqual({ name: 'feature-flags', optional: true })
    expect(() => optional('Feature Flags')).toThrow('must be a plugin name')
  })

  it('refuses a plugin object as an optional dependency (its files would be imported)', () => {
    expect(() => definePlugin({ name: 'test-old-style', optionalDependsOn: { greeter: greeter as never } })).toThrow(
      `optional dependency "greeter" must be optional<Port>('<plugin name>'), not a plugin object`,
    )
  })

  it('lists a provider under another name, a missing one and one not declared', () => {
    expect(portMismatches(host, { greeter })).toEqual([])
    const renamed = definePlugin({ name: 'test-greeter-2', setup: () => ({ service: { greet: (n: string) => n } }) })
    expect(portMismatches(host, { greeter: renamed })).toEqual([
      'test-host: optional dependency "greeter" names "test-greeter", the provider is "test-greeter-2"',
    ])
    expect(portMismatches(host, {} as never)).toEqual([
      'test-host: no provider given for optional dependency "greeter"',
    ])
    expect(portMismatches(host, { greeter, extra: greeter } as never)).toEqual([
      'test-host: "extra" is not one of its optional dependencies',
    ])
  })

  it('does not type-check a provider whose service misses the port', () => {
    const mute = definePlugin({ name: 'test-greeter', setup: () => ({ service: { count: 1 } }) })
    // @ts-expect-error: mute's service has no greet(): the port check is a type error
    expect(portMismatches(host, { greeter: mute })).toEqual([])
  })
})
