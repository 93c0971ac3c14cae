import { describe, expect, it } from 'bun:test'
import { frames, parseClientMessage, tooLarge, userTopic } from './protocol.ts'

describe('websocket protocol', () => {
  it('parses the seed client messages', () => {
    expect(parseClientMessage('{"type":"subscribe","channel":"project:p1"}')).toEqual({
      ok: true,
      message: { type: 'subscribe', channel: 'project:p1' },
    })
    expect(parseClientMessage('{"type":"unsubscribe","channel":"project:p1"}')).toEqual({
      ok: true,
      message: { type: 'unsubscribe', channel: 'project:p1' },
    })
    expect(parseClientMessage('{"type":"message","channel":"c:1","data":{"a":1}}')).toEqual({
      ok: true,
      message: { type: 'message', channel: 'c:1', data: { a: 1 } },
    })
    expect(parseClientMessage('{"type":"message","channel":"c:1","data":null}')).toMatchObject({ ok: true })
    expect(parseClientMessage('{"type":"ping"}')).toEqual({ ok: true, message: { type: 'ping' } })
  })

  it('reports malformed input as BAD_MESSAGE', () => {
    for (const bad of [
      '',
      '{',
      'null',
      '"s"',
      '[]',
      '{}',
      '{"type":1}',
      '{"type":"x"}',
      '{"type":"subscribe","channel":5}',
      '{"type":"message","channel":"c:1"}',
    ]) {
      expect(parseClientMessage(bad)).toMatchObject({ ok: false, code: 'BAD_MESSAGE' })
    }
  })

  it('builds the seed server events', () => {
    expect(JSON.parse(frames.connected('u1', 'c1', '2026-01-11T12:00:00.000Z'))).toEqual({
      type: 'connected',
      data: { user_id: 'u1', connected_at: '2026-01-11T12:00:00.000Z', connection_id: 'c1' },
    })
    expect(JSON.parse(frames.channelMessage('project:p', { x: 1 }, 'u2'))).toMatchObject({
      type: 'channel_message',
      channel: 'project:p',
      data: { x: 1 },
      sender_id: 'u2',
    })
    expect(JSON.parse(frames.error('INVALID_CHANNEL', 'Invalid channel format'))).toEqual({
      type: 'error',
      message: 'Invalid channel format',
      code: 'INVALID_CHANNEL',
    })
    expect(JSON.parse(frames.channelEvent('project:p', { type: 'update', data: 1 }))).toMatchObject({
      type: 'update',
      channel: 'project:p',
      data: 1,
    })
    expect(userTopic('u1')).not.toMatch(/^[a-z]/)
  })

  it('measures message size in UTF-8 bytes', () => {
    expect(tooLarge('a'.repeat(100), 100)).toBe(false)
    expect(tooLarge('a'.repeat(101), 100)).toBe(true)
    expect(tooLarge('é'.repeat(50), 100)).toBe(false)
    expect(tooLarge('é'.repeat(51), 100)).toBe(true)
  })
})
