import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { constants } from 'node:os'
import { Worker } from 'node:worker_threads'

/**
 * The glibc tunable that makes malloc madvise(MADV_HUGEPAGE) its mappings. Guest RAM comes
 * from host arenas of up to 64 MiB that glibc maps (tag-memory's host-reserve.ts); with THP in
 * "madvise" mode only madvised memory gets 2 MiB pages, and Node offers no madvise, so this is
 * how a tagvm process gets them (QEMU madvises its guest RAM itself). A restore or a migration
 * destination writes every guest page into fresh memory, and the first touch of it costs
 * roughly half as much CPU with huge pages as with 4 KiB ones.
 */
export const HUGE_PAGE_TUNABLE = 'glibc.malloc.hugetlb=1'

/** Commands that write a whole guest into fresh host memory, and so gain from huge pages. */
const FRESH_MEMORY_COMMANDS: readonly (readonly string[])[] = [['restore'], ['migrate', 'receive']]

/** What decides whether tagvm runs itself again with huge pages: the host's THP mode and C library. */
export interface HugePageHost {
  /** /sys/kernel/mm/transparent_hugepage/enabled's selected mode ('always', 'madvise', 'never'), or undefined without THP. */
  readonly thpMode: string | undefined
  /** Whether this process runs on glibc (GLIBC_TUNABLES means nothing to another C library). */
  readonly glibc: boolean
}

/** This host's THP mode and C library, as hugePageEnvironment needs them. */
export function hugePageHost(): HugePageHost {
  let thpMode: string | undefined
  let glibc = false
  try {
    thpMode = /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1]
    // glibc's libc is libc.so.6 (musl's is ld-musl-*.so.1); the maps say what this process
    // loaded, and else Node's report says which glibc it runs on (slower: it gathers much more).
    glibc = /\/libc\.so\.6( \(deleted\))?$/m.test(readFileSync('/proc/self/maps', 'utf8'))
    glibc ||= typeof (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime === 'string'
  } catch {
    // Not Linux, or /sys and /proc are not there: nothing to do.
  }
  return { thpMode, glibc }
}

/**
 * The environment to run tagvm again in so that glibc madvises its heap, or undefined when this
 * run should go on as it is: a command other than restore and migrate receive, THP not in
 * "madvise" mode ("always" gives huge pages anyway, "never" never), not glibc, or
 * GLIBC_TUNABLES already saying anything about glibc.malloc.hugetlb (which is also what keeps
 * the second run from starting a third; set glibc.malloc.hugetlb=0 to opt out).
 */
export function hugePageEnvironment(argv: readonly string[], env: NodeJS.ProcessEnv, host: HugePageHost): NodeJS.ProcessEnv | undefined {
  if (!FRESH_MEMORY_COMMANDS.some((words) => words.every((word, i) => argv[i] === word))) return undefined
  if (argv.includes('-h') || argv.includes('--help')) return undefined
  if (host.thpMode !== 'madvise' || !host.glibc) return undefined
  const tunables = env.GLIBC_TUNABLES ?? ''
  if (/(^|:)glibc\.malloc\.hugetlb=/.test(tunables)) return undefined
  return { ...env, GLIBC_TUNABLES: tunables === '' ? HUGE_PAGE_TUNABLE : `${tunables}:${HUGE_PAGE_TUNABLE}` }
}

/**
 * What the second run's file descriptors are: standard input, output and error, and the pipes an
 * `fd:N` endpoint names (N, and N+1 for the answer: see endpoint.ts) at the same numbers. Node
 * marks every descriptor it finds at start-up close-on-exec, so which others were inherited
 * cannot be told; these are the ones tagvm uses. Slots between them read /dev/null.
 */
export function inheritedStdio(argv: readonly string[]): ('inherit' | 'ignore' | number)[] {
  const stdio: ('inherit' | 'ignore' | number)[] = ['inherit', 'inherit', 'inherit']
  for (const arg of argv) {
    const fd = /(?:^|=)fd:(\d+)$/.exec(arg)
    if (!fd) continue
    for (const n of [Number(fd[1]), Number(fd[1]) + 1]) {
      if (n < 3 || n > 1024) continue
      while (stdio.length <= n) stdio.push('ignore')
      stdio[n] = n
    }
  }
  return stdio
}

/** Set for the second run: the first run's process id (see watchFirstRun). */
export const FIRST_RUN_VARIABLE = 'TAGVM_FIRST_RUN_PID'

/**
 * The watch of watchFirstRun, evaluated as a worker thread's script (plain JavaScript, so it runs
 * the same from the sources and from the build): twice a second, whether this process's parent
 * is still the first run.
 */
const WATCH_SOURCE = `
const { workerData: first } = require('node:worker_threads')
setInterval(() => {
  if (process.ppid !== first) process.kill(process.pid, 'SIGKILL')
}, 500)
`

/**
 * In the second run: ends this process (SIGKILL) once the first run is gone without it, as when
 * a supervisor SIGKILLs tagvm, which the first run cannot pass on. The check runs on a worker
 * thread, as the main thread may never turn its event loop again: a guest that arrived by
 * pre-copy, or a restored one, runs to its end in one synchronous call. Keeps nothing alive.
 */
export function watchFirstRun(env: NodeJS.ProcessEnv): void {
  const first = Number(env[FIRST_RUN_VARIABLE])
  delete env[FIRST_RUN_VARIABLE]
  if (!Number.isInteger(first) || first <= 0) return
  new Worker(WATCH_SOURCE, { eval: true, workerData: first }).unref()
}

/** Signals a user or a supervisor sends to stop or poke tagvm, passed on to the second run. */
const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2']

/**
 * Runs this same tagvm (same Node, same Node options, same arguments, the same standard input,
 * output and error and `fd:N` pipes) again in `env`, and ends this process as the second run ends: with its exit
 * status, or killed by the same signal. Signals sent to this process go on to the second run.
 */
export function runAgainIn(env: NodeJS.ProcessEnv): Promise<never> {
  return new Promise<never>(() => {
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { env: { ...env, [FIRST_RUN_VARIABLE]: String(process.pid) }, stdio: inheritedStdio(process.argv.slice(2)) })
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal)
    }
    for (const signal of FORWARDED_SIGNALS) process.on(signal, forward)
    child.on('error', (error) => {
      // Could not start (it did not run): say so, as a failure to start Node would.
      process.stderr.write(`tagvm: cannot run again with ${HUGE_PAGE_TUNABLE}: ${error.message}\n`)
      process.exit(70)
    })
    child.on('exit', (code, signal) => {
      for (const s of FORWARDED_SIGNALS) process.off(s, forward)
      if (signal !== null) {
        // Die of the same signal, so whoever waits for tagvm sees what the second run saw.
        process.kill(process.pid, signal)
        // A signal whose default does not kill a Node process: the shell's convention.
        setTimeout(() => process.exit(128 + (constants.signals[signal] ?? 0)), 100)
        return
      }
      process.exit(code ?? 0)
    })
  })
}
