// Test support: the CLI run in process with its output captured (never built: tsup starts
// from src/index.ts and src/cli.ts, vitest runs only *.test.ts).
import type { CliIo } from './cli-io.js'
import { runCli } from './cli-main.js'

export interface CliResult {
  status: number
  stdout: string
  stderr: string
}

/**
 * Runs `tagvm args...` through runCli. Bytes written to stdout (a guest's console) read as
 * latin1, one character per byte, as the recorded outputs are read; text is kept as written.
 * `tty`/`columns`: what stdout claims to be (not a terminal, no width, by default).
 */
export async function cli(args: string[], options: { tty?: boolean; columns?: number; version?: string } = {}): Promise<CliResult> {
  let stdout = ''
  let stderr = ''
  const io: CliIo = {
    stdout: { write: (t: string | Uint8Array) => (stdout += typeof t === 'string' ? t : Buffer.from(t).toString('latin1')), isTTY: options.tty ?? false, columns: options.columns },
    stderr: { write: (t: string) => (stderr += t) },
  }
  const status = await runCli(args, io, options.version ?? 'test')
  return { status, stdout, stderr }
}
