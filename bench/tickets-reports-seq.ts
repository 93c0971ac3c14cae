/**
 * Sequential latency of one URL (bench/tickets-reports-run.sh): `bun bench/tickets-reports-seq.ts URL N`
 * with BENCH_TOKEN as the bearer. One request at a time after 3 warm-ups; prints "p50 p99 max" in
 * ms. Exits 1 on any answer other than 200.
 */
const [url, count = '200'] = process.argv.slice(2)
const n = Number(count)
const headers = { authorization: `Bearer ${process.env.BENCH_TOKEN}` }
const once = async () => {
  const started = performance.now()
  const res = await fetch(url!, { headers })
  await res.arrayBuffer()
  if (res.status !== 200) {
    console.error(`${url} answered ${res.status}`)
    process.exit(1)
  }
  return performance.now() - started
}
for (let i = 0; i < 3; i++) await once()
const ms: number[] = []
for (let i = 0; i < n; i++) ms.push(await once())
ms.sort((a, b) => a - b)
const at = (q: number) => ms[Math.min(ms.length - 1, Math.ceil(q * ms.length) - 1)]!
console.log(`${at(0.5).toFixed(1)} ${at(0.99).toFixed(1)} ${ms[ms.length - 1]!.toFixed(1)}`)
export {}
