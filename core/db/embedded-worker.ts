/**
 * The embedded database's thread (Bun): PGlite and its socket server live here, so queries run
 * beside the HTTP thread instead of blocking it, and PGlite's large heap is collected apart
 * from the request path's (measured: a full GC of the main heap 3 ms instead of 9-65 ms).
 * Spoken to by embedded.ts with the messages below.
 */
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'

export type WorkerRequest =
  | { id: number; type: 'open'; dataDir?: string; load?: ArrayBuffer; path: string }
  | { id: number; type: 'dump' }
  | { id: number; type: 'close' }

export type WorkerReply =
  | { id: number; ok: true; dump?: ArrayBuffer }
  | { id: number; ok: false; error: { name: string; message: string; stack?: string } }

declare const self: {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null
  postMessage(message: WorkerReply, transfer?: Transferable[]): void
}

let pg: PGlite | undefined
let server: PGLiteSocketServer | undefined

async function handle(m: WorkerRequest): Promise<ArrayBuffer | undefined> {
  switch (m.type) {
    case 'open': {
      pg = await PGlite.create({ dataDir: m.dataDir, loadDataDir: m.load ? new Blob([m.load]) : undefined })
      // docs/performance-notes.md#pglite-takes-exactly-one-connection: PGlite is one backend session: exactly one connection.
      server = new PGLiteSocketServer({ db: pg, path: m.path, maxConnections: 1 })
      await server.start()
      return undefined
    }
    case 'dump':
      return (await pg!.dumpDataDir('none')).arrayBuffer()
    case 'close':
      await server?.stop()
      await pg?.close()
      server = undefined
      pg = undefined
      return undefined
  }
}

self.onmessage = (event) => {
  const m = event.data
  handle(m).then(
    (dump) => self.postMessage({ id: m.id, ok: true, dump }, dump ? [dump] : []),
    (err: Error) =>
      self.postMessage({
        id: m.id,
        ok: false,
        error: { name: err?.name ?? 'Error', message: String(err?.message ?? err), stack: err?.stack },
      }),
  )
}
