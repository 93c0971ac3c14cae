/**
 * Fan-out benchmark (issue 7): one publisher to N subscribers. Raw Bun pub/sub, OmniStack on one
 * replica, and OmniStack on two replicas sharing Redis, in the same run. Servers are pinned to
 * core 0 and this client process to core 1 (when taskset exists). Prints delivered messages/s,
 * server CPU per 1,000 deliveries and p50/p99 delivery latency.
 *
 *   node_modules/.bin/bun plugins/websocket/bench/fanout.ts
 *   BENCH_SUBSCRIBERS=2000 BENCH_REDIS_URL=redis://127.0.0.1:6379 node_modules/.bin/bun plugins/websocket/bench/fanout.ts
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SignJWT } from 'jose'

const int = (name: string, d: number) => Number(process.env[name] ?? d)
const N = int('BENCH_SUBSCRIBERS', 1000)
const M = int('BENCH_MESSAGES', 100)
const ROUNDS = int('BENCH_ROUNDS', 7)
const RATE = int('BENCH_RATE', 20)
const SECONDS = int('BENCH_SECONDS', 3)
const REDIS = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL
const SECRET = 'bench-secret-bench-secret-bench-secret'
const BUN = process.execPath
const SERVERS = new URL('./servers.ts', import.meta.url).pathname
const pin = spawnSync('taskset', ['-V']).status === 0 && navigator.hardwareConcurrency >= 2
if (pin) spawnSync('taskset', ['-p', '-c', '1', String(process.pid)], { stdio: 'ignore' })

interface Server {
  port: number
  proc: ChildProcess
  dir: string
}

async function startServer(mode: 'raw' | 'omni', env: Record<string, string> = {}): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'omnistack-bench-'))
  const cmd = pin ? ['taskset', '-c', '0', BUN, SERVERS, mode] : [BUN, SERVERS, mode]
  const proc = spawn(cmd[0]!, cmd.slice(1), {
    env: {
      ...process.env,
      PORT: '0',
      DATA_DIR: dir,
      AUTH_JWT_SECRET: SECRET,
      LOG_LEVEL: 'warn',
      RATE_LIMIT_DEFAULT: '100000000/minute',
      WS_RATE_LIMIT_PER_SECOND: '1000000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const port = await new Promise<number>((resolve, reject) => {
    let out = ''
    proc.stdout!.on('data', (d: Buffer) => {
      out += d
      const m = /listening (\d+)/.exec(out)
      if (m) resolve(Number(m[1]))
    })
    proc.on('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)))
  })
  return { port, proc, dir }
}

/** utime + stime of a process, in seconds (Linux /proc; 0 elsewhere). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return 0
  }
}

interface Scenario {
  name: string
  servers: { mode: 'raw' | 'omni'; env?: Record<string, string> }[]
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN

interface Rig {
  name: string
  servers: Server[]
  connectSeconds: number
  /** Sends `count` messages (paced at `rate`/s when given) and resolves when all N*count arrived. */
  burst(count: number, rate?: number): Promise<{ seconds: number; latencies: number[] }>
  close(): void
}

async function setup(s: Scenario): Promise<Rig> {
  const servers = await Promise.all(s.servers.map((x) => startServer(x.mode, x.env)))
  const omni = s.servers[0]!.mode === 'omni'
  let received = 0
  let latencies: number[] = []
  const sockets: WebSocket[] = []
  const key = new TextEncoder().encode(SECRET)
  const token = (i: number) =>
    new SignJWT({ email: `sub${i}@bench.local` })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(`sub${i}`)
      .setExpirationTime('2h')
      .sign(key)

  const open = async (i: number, subscriber: boolean) => {
    const port = servers[i % servers.length]!.port
    const ws = new WebSocket(
      omni ? `ws://127.0.0.1:${port}/api/v1/app/ws?token=${await token(i)}` : `ws://127.0.0.1:${port}/`,
    )
    await new Promise<void>((resolve, reject) => {
      ws.onerror = () => reject(new Error(`socket ${i} failed`))
      if (!omni) ws.onopen = () => resolve()
      ws.onmessage = (e) => {
        const f = JSON.parse(String(e.data))
        if (f.type === 'connected') ws.send(JSON.stringify({ type: 'subscribe', channel: 'room:1' }))
        else if (f.type === 'subscribed') resolve()
      }
    })
    if (subscriber) {
      // The same cheap read for both servers (no JSON.parse): with every subscriber in this one
      // process, the client's per-frame cost is part of every latency measured here.
      ws.onmessage = (e) => {
        received++
        const text = e.data as string
        const at = text.indexOf('"t":') + 4
        latencies.push(performance.now() - Number(text.slice(at, text.indexOf(',', at))))
      }
    }
    sockets.push(ws)
    return ws
  }

  const publisher = await open(0, false)
  const t0 = performance.now()
  for (let b = 1; b <= N; b += 100)
    await Promise.all(Array.from({ length: Math.min(100, N - b + 1) }, (_, k) => open(b + k, true)))
  const connectSeconds = (performance.now() - t0) / 1000

  return {
    name: s.name,
    servers,
    connectSeconds,
    async burst(count, rate) {
      received = 0
      latencies = []
      const start = performance.now()
      for (let i = 0; i < count; i++) {
        const data = { seq: i, t: performance.now(), pad: 'x'.repeat(64) }
        publisher.send(JSON.stringify(omni ? { type: 'message', channel: 'room:1', data } : data))
        if (!rate) continue
        const next = start + ((i + 1) * 1000) / rate
        while (performance.now() < next) await Bun.sleep(Math.max(0, next - performance.now() - 0.5))
      }
      const end = performance.now() + 60_000
      while (received < N * count && performance.now() < end) await Bun.sleep(1)
      if (received < N * count) throw new Error(`${s.name}: ${received}/${N * count} delivered`)
      return { seconds: (performance.now() - start) / 1000, latencies }
    },
    close() {
      for (const ws of sockets) ws.close()
      for (const x of servers) {
        x.proc.kill('SIGKILL')
        rmSync(x.dir, { recursive: true, force: true })
      }
    },
  }
}

const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    0.5,
  )

const scenarios: Scenario[] = [
  { name: 'raw Bun pub/sub, 1 server', servers: [{ mode: 'raw' }] },
  { name: 'OmniStack, 1 replica', servers: [{ mode: 'omni' }] },
]
if (REDIS)
  scenarios.push({
    name: 'OmniStack, 2 replicas + Redis',
    servers: [
      { mode: 'omni', env: { REDIS_URL: REDIS } },
      { mode: 'omni', env: { REDIS_URL: REDIS } },
    ],
  })

console.log(
  `fan-out: 1 publisher -> ${N} subscribers; throughput ${ROUNDS} interleaved rounds of ${M}-message bursts; latency ${RATE} msg/s for ${SECONDS} s; pinned: ${pin}`,
)
const rigs: Rig[] = []
for (const s of scenarios) rigs.push(await setup(s))
const stats = rigs.map(() => ({ rates: [] as number[], cpu: 0 }))
for (const rig of rigs) await rig.burst(M) // warm-up
// Rounds alternate between the servers, so that noise from the machine hits each alike.
for (let r = 0; r < ROUNDS; r++) {
  for (const [i, rig] of rigs.entries()) {
    const cpu0 = rig.servers.reduce((a, x) => a + cpuSeconds(x.proc.pid!), 0)
    const { seconds } = await rig.burst(M)
    stats[i]!.cpu += rig.servers.reduce((a, x) => a + cpuSeconds(x.proc.pid!), 0) - cpu0
    stats[i]!.rates.push((N * M) / seconds)
  }
}
const rawRate = median(stats[0]!.rates)
for (const [i, rig] of rigs.entries()) {
  const { latencies } = await rig.burst(RATE * SECONDS, RATE)
  latencies.sort((a, b) => a - b)
  const rate = median(stats[i]!.rates)
  console.log(
    `${rig.name.padEnd(30)} ${Math.round(rate).toLocaleString('en').padStart(10)} delivered/s (${((rate / rawRate) * 100).toFixed(0)}% of raw)  ` +
      `server CPU ${((stats[i]!.cpu / (N * M * ROUNDS)) * 1e9).toFixed(0).padStart(4)} µs/1k  ` +
      `p50 ${percentile(latencies, 0.5).toFixed(1)} ms  p99 ${percentile(latencies, 0.99).toFixed(1)} ms  (setup ${rig.connectSeconds.toFixed(1)} s)`,
  )
}
for (const rig of rigs) rig.close()
if (!REDIS) console.log('two-replica scenario skipped: set BENCH_REDIS_URL (or TEST_REDIS_URL)')
process.exit(0)
