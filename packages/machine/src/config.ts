import { FileFormatError } from './errors.js'

/** Which host memory backs guest RAM: anonymous, a shared memfd (shmem), or a shared regular file (which cannot hold tags). */
export type Backing = 'anon' | 'shmem' | 'file'
/** Every backing, in the order `--backing` lists them. */
export const BACKINGS: readonly Backing[] = ['anon', 'shmem', 'file']

/**
 * The guest's time base (the `--clock` option): the host's monotonic clock, as a KVM guest
 * sees it, or one tick per retired instruction with idle time skipped (repeatable runs).
 */
export type ClockKind = 'host' | 'instructions'
/** Every clock, in the order `--clock` lists them. */
export const CLOCKS: readonly ClockKind[] = ['host', 'instructions']

/** What a machine is made of; saved in snapshots and sent first in a migration. */
export interface MachineConfig {
  readonly ramBase: number
  readonly ramSize: number
  readonly cpus: number
  readonly mte: boolean
  readonly backing: Backing
  /** Default 'instructions'. */
  readonly clock?: ClockKind
}

/** The most vCPUs a machine has. */
export const MAX_CPUS = 8

/** Checks a config read from a file or stream; errors name the source and offset. */
export function checkMachineConfig(value: unknown, source: string, offset: number): MachineConfig {
  const bad = (problem: string): never => {
    throw new FileFormatError(source, offset, `machine config: ${problem}`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('expected a JSON object')
  const v = value as Record<string, unknown>
  const int = (field: string, min: number, max: number): number => {
    const x = v[field]
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < min || x > max) bad(`${field} must be an integer in [${min}, ${max}], got ${JSON.stringify(x)}`)
    return x as number
  }
  const ramBase = int('ramBase', 0, 2 ** 48)
  const ramSize = int('ramSize', 4096, 2 ** 48)
  if (ramBase % 4096 !== 0 || ramSize % 4096 !== 0) bad('ramBase and ramSize must be multiples of 4096')
  const cpus = int('cpus', 1, MAX_CPUS)
  if (typeof v.mte !== 'boolean') bad(`mte must be true or false, got ${JSON.stringify(v.mte)}`)
  if (!BACKINGS.includes(v.backing as Backing)) bad(`backing must be one of ${BACKINGS.join(', ')}, got ${JSON.stringify(v.backing)}`)
  if (v.clock !== undefined && !CLOCKS.includes(v.clock as ClockKind)) bad(`clock must be one of ${CLOCKS.join(', ')}, got ${JSON.stringify(v.clock)}`)
  return { ramBase, ramSize, cpus, mte: v.mte as boolean, backing: v.backing as Backing, ...(v.clock !== undefined ? { clock: v.clock as ClockKind } : {}) }
}
