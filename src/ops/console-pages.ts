import { readFile } from 'node:fs/promises'
import type { HttpPlugin } from './http-server.ts'
import { consoleSecurityHeaders, importMapHash } from './console-security-headers.ts'

type ConsoleFile = { url: string; contentType: string }

const JS = 'text/javascript; charset=utf-8'
const CSS = 'text/css; charset=utf-8'
const local = (name: string) => new URL(`./console/${name}`, import.meta.url).href

/**
 * What `/console` serves: a fixed table, so no request ever names a file. The page and its
 * module come from `src/ops/console/`; the view library (Preact with htm) and the chart
 * (uPlot) are served from the installed packages: no build step, nothing fetched elsewhere.
 * Paths are relative in the page, so it works behind a proxy that mounts it under a prefix.
 */
export const CONSOLE_FILES: Record<string, ConsoleFile> = {
  '/console': { url: local('index.html'), contentType: 'text/html; charset=utf-8' },
  '/console/app.js': { url: local('app.js'), contentType: JS },
  '/console/console.css': { url: local('console.css'), contentType: CSS },
  '/console/vendor/preact.mjs': { url: import.meta.resolve('preact'), contentType: JS },
  '/console/vendor/preact-hooks.mjs': { url: import.meta.resolve('preact/hooks'), contentType: JS },
  '/console/vendor/htm.mjs': { url: import.meta.resolve('htm'), contentType: JS },
  '/console/vendor/uplot.mjs': { url: import.meta.resolve('uplot/dist/uPlot.esm.js'), contentType: JS },
  '/console/vendor/uplot.css': { url: import.meta.resolve('uplot/dist/uPlot.min.css'), contentType: CSS },
}

/**
 * Serves the console's files (read once, when the server starts) with the console's security
 * headers. They hold no data and no secret: everything the page shows comes from `/v1/ops/`,
 * with the token the operator types in.
 */
export function consolePages(): HttpPlugin {
  return async (app) => {
    const bodies = new Map<string, Buffer>()
    for (const [path, file] of Object.entries(CONSOLE_FILES)) bodies.set(path, await readFile(new URL(file.url)))
    const headers = consoleSecurityHeaders([importMapHash(bodies.get('/console')!.toString('utf8'))])
    app.addHook('onSend', async (_request, reply) => void reply.headers(headers))
    for (const [path, file] of Object.entries(CONSOLE_FILES)) {
      app.get(path, (_request, reply) => reply.code(200).header('content-type', file.contentType).send(bodies.get(path)))
    }
    // `/console/` would resolve the page's relative paths one folder too deep.
    app.get('/console/', (_request, reply) => reply.code(308).header('location', '../console').send(''))
  }
}
