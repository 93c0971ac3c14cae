/** `npm run doctor` for email: the SMTP server answers its greeting (220), and nothing is sent. */
import { Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import { doctor, type DoctorCheck, type DoctorContext } from '../../core/index.ts'

interface Config {
  smtpUrl?: string
}

export async function emailDoctor({ config, core, timeoutMs }: DoctorContext<Config>): Promise<DoctorCheck[]> {
  if (!config.smtpUrl) {
    const detail = 'SMTP_URL unset: emails are kept in the outbox table and logged, never sent'
    const fix = 'set SMTP_URL=smtp://user:pass@host:587 (or smtps://...:465) from your mail provider'
    return [core.nodeEnv === 'production' ? doctor.warn('SMTP_URL', detail, fix) : doctor.pass('SMTP_URL', detail)]
  }
  const url = new URL(config.smtpUrl)
  const secure = url.protocol === 'smtps:'
  const port = Number(url.port || (secure ? 465 : 587))
  const target = `${url.hostname}:${port}`
  try {
    const greeting = await doctor.withTimeout(greet(url.hostname, port, secure), timeoutMs, `SMTP at ${target}`)
    if (!greeting.startsWith('220')) throw new Error(`greeted with "${greeting.slice(0, 80)}"`)
    return [doctor.pass('SMTP_URL', `${target} greets: ${greeting.slice(0, 60)}`)]
  } catch (err) {
    return [
      doctor.fail(
        'SMTP_URL',
        `${target} did not greet: ${doctor.reason(err)}`,
        'check the host and port in SMTP_URL (587 or 25 with smtp://, 465 with smtps://) and that outbound SMTP is allowed from here',
      ),
    ]
  }
}

/** Connects, reads the first line the server sends, says QUIT. */
function greet(host: string, port: number, secure: boolean): Promise<string> {
  const socket = secure ? tlsConnect({ host, port, servername: host }) : new Socket().connect(port, host)
  return new Promise<string>((resolve, reject) => {
    let out = ''
    socket.on('data', (d) => {
      out += d.toString()
      const end = out.indexOf('\r\n')
      if (end >= 0) {
        socket.write('QUIT\r\n')
        resolve(out.slice(0, end))
      }
    })
    socket.on('error', reject)
    socket.on('close', () => reject(new Error('connection closed before a greeting')))
  }).finally(() => socket.end())
}
