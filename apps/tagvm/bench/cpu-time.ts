// CPU time for the benches: wall time on a shared 2-core host mostly says how busy the other
// processes are, so figures give both.
import { readFileSync } from 'node:fs'

/** CPU time of this process since `from` (a process.cpuUsage() reading), in ms. */
export function cpuSince(from: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(from)
  return (used.user + used.system) / 1000
}

/**
 * A running process's CPU time (user + system) so far, in ms, from /proc/PID/stat (Linux; ticks
 * of 10 ms, USER_HZ 100 on every Linux architecture tagvm runs on), or undefined elsewhere.
 */
export function processCpuMs(pid: number | undefined): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces) in parentheses: utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return undefined
  }
}

/** `mib` MiB moved in `ms` ms of CPU, as MiB per CPU-second (undefined without a CPU time). */
export function perCpuSecond(mib: number, ms: number | undefined): number | undefined {
  return ms === undefined || ms <= 0 ? undefined : mib / (ms / 1000)
}

/**
 * The environment for a `tagvm migrate receive` the bench starts: this process's, with glibc's
 * huge-page tunable settled either way, so the CLI does not run itself again with it
 * (huge-pages.ts) and the destination's CPU time is read from the process that does the work,
 * with the same THP behaviour as this process's own restores.
 */
export function destinationEnv(): NodeJS.ProcessEnv {
  const tunables = process.env.GLIBC_TUNABLES ?? ''
  if (/(^|:)glibc\.malloc\.hugetlb=/.test(tunables)) return process.env
  return { ...process.env, GLIBC_TUNABLES: tunables === '' ? 'glibc.malloc.hugetlb=0' : `${tunables}:glibc.malloc.hugetlb=0` }
}
