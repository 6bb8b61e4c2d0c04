/**
 * A static file server for the built page with the cross-origin isolation headers (the page
 * needs them for SharedArrayBuffer). Tests and the bench start it on a free port;
 * `pnpm serve` runs it on port 4173 (or PORT) for people.
 */
import { createReadStream, statSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { extname, join, normalize, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ISOLATION_HEADERS } from '../vite.config.js'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.elf': 'application/octet-stream',
  '.wasm': 'application/wasm',
}

export interface StaticServer {
  readonly url: string
  readonly server: Server
  close(): Promise<void>
}

/** Serves `root` on 127.0.0.1 (`port` 0: any free port). */
export function serveStatic(root: string, port = 0): Promise<StaticServer> {
  const base = resolve(root)
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname)
    let file = normalize(join(base, path))
    if (file !== base && !file.startsWith(base + sep)) {
      response.writeHead(403).end()
      return
    }
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html')
      const size = statSync(file).size
      response.writeHead(200, { ...ISOLATION_HEADERS, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': size, 'Cache-Control': 'no-cache' })
      createReadStream(file).pipe(response)
    } catch {
      response.writeHead(404, ISOLATION_HEADERS).end('not found')
    }
  })
  return new Promise((ready, fail) => {
    server.once('error', fail)
    server.listen(port, '127.0.0.1', () => {
      const address = server.address()
      const actual = typeof address === 'object' && address ? address.port : port
      ready({ url: `http://127.0.0.1:${actual}/`, server, close: () => new Promise((done) => server.close(() => done())) })
    })
  })
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dist = fileURLToPath(new URL('../dist/', import.meta.url))
  const served = await serveStatic(dist, Number(process.env.PORT ?? 4173))
  console.log(`serving ${dist} at ${served.url} with Cross-Origin-Opener-Policy and Cross-Origin-Embedder-Policy (Ctrl-C stops)`)
}
