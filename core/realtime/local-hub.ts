/** In-process topic fan-out for runtimes without native WebSocket pub/sub (Deno). */
import type { SocketServer } from '../plugin/index.ts'

export interface HubMember {
  sendText(text: string): void
}

export interface LocalHub<M extends HubMember> extends SocketServer {
  add(topic: string, member: M): void
  remove(topic: string, member: M): void
  has(topic: string, member: M): boolean
  /** To every member of `topic` except `except`; returns how many got it. */
  publishFrom(topic: string, text: string, except?: M): number
}

export function createLocalHub<M extends HubMember>(): LocalHub<M> {
  const topics = new Map<string, Set<M>>()
  const publishFrom = (topic: string, text: string, except?: M) => {
    const members = topics.get(topic)
    if (!members) return 0
    let n = 0
    for (const m of members) {
      if (m === except) continue
      m.sendText(text)
      n++
    }
    return n
  }
  return {
    add(topic, member) {
      let set = topics.get(topic)
      if (!set) topics.set(topic, (set = new Set()))
      set.add(member)
    },
    remove(topic, member) {
      const set = topics.get(topic)
      if (!set) return
      set.delete(member)
      if (set.size === 0) topics.delete(topic)
    },
    has: (topic, member) => topics.get(topic)?.has(member) ?? false,
    publishFrom,
    publish(topic, text) {
      publishFrom(topic, text)
    },
  }
}
