/** Baseline: raw Bun.serve returning the same v2 JSON as the full stack's bench route. */
const port = Number(process.env.PORT ?? 8101)
const server = Bun.serve({
  port,
  hostname: '127.0.0.1',
  fetch: (request) => {
    if (new URL(request.url).pathname !== '/api/v2/app/bench/item') return new Response('not found', { status: 404 })
    return Response.json({
      data: { id: 'item-1', name: 'Benchmark item', owner_id: 'bench-user', tags: ['a', 'b'] },
      meta: { request_id: crypto.randomUUID(), timestamp: new Date().toISOString(), version: 'v2' },
    })
  },
})
console.log(`listening ${server.port}`)
