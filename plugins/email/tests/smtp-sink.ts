/**
 * A real SMTP server on a loopback port for tests (RFC 5321 subset: EHLO/HELO, MAIL, RCPT,
 * DATA with dot-stuffing, RSET, NOOP, QUIT). It keeps every message it accepts.
 */
import { createServer, type Socket } from 'node:net'

export interface ReceivedMail {
  from: string
  to: string[]
  /** The raw message as received (headers and body, CRLF line ends). */
  raw: string
  headers: Record<string, string>
  /** Raw message with quoted-printable soft breaks and escapes undone: search it for content. */
  text: string
}

export interface SmtpSink {
  port: number
  url: string
  mails: ReceivedMail[]
  /** Refuse the next `n` messages at the end of DATA with 451 (a temporary failure). */
  failNext(n: number): void
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMail[]>
  close(): Promise<void>
}

const decodeQp = (s: string) =>
  s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))

function parseHeaders(raw: string): Record<string, string> {
  const head = raw.split(/\r\n\r\n/)[0] ?? ''
  const out: Record<string, string> = {}
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const i = line.indexOf(':')
    if (i > 0) out[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim()
  }
  return out
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const mails: ReceivedMail[] = []
  const sockets = new Set<Socket>()
  let failures = 0

  const server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let buffer = ''
    let inData = false
    let data: string[] = []
    let from = ''
    let to: string[] = []
    const reply = (line: string) => socket.write(`${line}\r\n`)
    reply('220 sink.local ESMTP test sink')
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1')
      let i: number
      while ((i = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, i)
        buffer = buffer.slice(i + 2)
        if (inData) {
          if (line === '.') {
            inData = false
            const raw = data.join('\r\n')
            if (failures > 0) {
              failures--
              reply('451 4.3.0 temporary failure, try again')
            } else {
              mails.push({ from, to, raw, headers: parseHeaders(raw), text: decodeQp(raw) })
              reply(`250 2.0.0 queued as ${mails.length}`)
            }
            from = ''
            to = []
            data = []
          } else data.push(line.startsWith('..') ? line.slice(1) : line)
          continue
        }
        const verb = line.slice(0, 4).toUpperCase()
        if (verb === 'EHLO') reply('250-sink.local\r\n250-8BITMIME\r\n250 SMTPUTF8')
        else if (verb === 'HELO') reply('250 sink.local')
        else if (verb === 'MAIL') {
          from = /<([^>]*)>/.exec(line)?.[1] ?? ''
          reply('250 2.1.0 ok')
        } else if (verb === 'RCPT') {
          to.push(/<([^>]*)>/.exec(line)?.[1] ?? '')
          reply('250 2.1.5 ok')
        } else if (verb === 'DATA') {
          inData = true
          reply('354 end data with <CR><LF>.<CR><LF>')
        } else if (verb === 'RSET') {
          from = ''
          to = []
          reply('250 ok')
        } else if (verb === 'NOOP') reply('250 ok')
        else if (verb === 'QUIT') {
          reply('221 bye')
          socket.end()
        } else reply('502 5.5.2 command not implemented')
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port

  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    mails,
    failNext(n) {
      failures = n
    },
    async waitFor(count, timeoutMs = 5000) {
      const until = Date.now() + timeoutMs
      while (mails.length < count && Date.now() < until) await new Promise((r) => setTimeout(r, 20))
      return mails
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
