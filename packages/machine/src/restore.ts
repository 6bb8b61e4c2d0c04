import type { MachineConfig } from './config.js'
import { FileFormatError, MachineRefusedError } from './errors.js'
import type { Machine } from './machine/machine.js'
import { LoadedPages } from './memory/loaded-pages.js'
import type { PageBatchView } from './memory/page.js'
import { SnapshotDecoder, type SnapshotOptions } from './snapshot/format.js'
import type { DeviceSnapshot, VcpuState } from './snapshot/records.js'

/**
 * Builds a machine from saved state as it arrives record by record, from a snapshot file or a
 * migration stream: the config makes the machine, pages go to guest memory with their tags,
 * registers and devices get their state. This is the one place where the machine refusing a
 * record's content (an unknown device, a device state, a register KVM rejects, a RAM size the
 * host cannot give) becomes a FileFormatError naming the source, the record and the reason.
 */
export class MachineLoader {
  private built: Machine | undefined
  /** What each page has had written so far: one sent again as zero or untagged is cleared. */
  private loaded: LoadedPages | undefined

  constructor(
    readonly source: string,
    private readonly makeMachine: (config: MachineConfig) => Machine,
  ) {}

  /** The machine, once the config has arrived. */
  get machine(): Machine | undefined {
    return this.built
  }

  /** The CONFIG record: builds the machine. */
  config(config: MachineConfig, offset: number): void {
    if (this.built) throw new FileFormatError(this.source, offset, 'a second machine config')
    this.built = this.apply(offset, 'CONFIG', () => this.makeMachine(config))
    this.loaded = new LoadedPages(this.built.memory.pageCount)
  }

  /** A PAGES record: data and tags go to guest memory (a page sent again as zero or untagged is cleared). */
  pages(batch: PageBatchView, offset: number): void {
    const machine = this.need(offset, 'PAGES')
    this.apply(offset, 'PAGES', () => machine.memory.writeBatch(batch, this.loaded!))
  }

  /** A VCPU record: the vCPU's registers. */
  vcpu(state: VcpuState, offset: number): void {
    const machine = this.need(offset, 'VCPU')
    this.apply(offset, 'VCPU', () => machine.loadVcpu(state))
  }

  /** A DEVICE record: the device's saved state. */
  device(device: DeviceSnapshot, offset: number): void {
    const machine = this.need(offset, 'DEVICE')
    this.apply(offset, 'DEVICE', () => machine.loadDevice(device.name, device.state))
  }

  private need(offset: number, record: string): Machine {
    if (!this.built) throw new FileFormatError(this.source, offset, `${record} record before the machine config`)
    return this.built
  }

  private apply<T>(offset: number, record: string, action: () => T): T {
    try {
      return action()
    } catch (error) {
      if (error instanceof MachineRefusedError) throw new FileFormatError(this.source, offset, `${record} record refused: ${error.reason}`, { cause: error })
      throw error
    }
  }
}

/**
 * Restores a snapshot from chunks as they are read: each record is checked (see
 * SnapshotDecoder) and applied to a fresh machine at once, so a snapshot is never held whole.
 * `finish()` returns the machine once the whole file has been read and checked.
 */
export class SnapshotRestore {
  private readonly loader: MachineLoader
  private readonly decoder: SnapshotDecoder

  constructor(file: string, makeMachine: (config: MachineConfig) => Machine, options: SnapshotOptions = {}) {
    const loader = (this.loader = new MachineLoader(file, makeMachine))
    this.decoder = new SnapshotDecoder(
      file,
      {
        config: (config, offset) => loader.config(config, offset),
        vcpu: (state, offset) => loader.vcpu(state, offset),
        device: (device, offset) => loader.device(device, offset),
        pages: (batch, offset) => loader.pages(batch, offset),
      },
      options,
    )
  }

  /** Where the next bytes of the snapshot may be read into (see SnapshotDecoder.readBuffer). */
  readBuffer(): Uint8Array {
    return this.decoder.readBuffer()
  }

  /** The next bytes of the snapshot, as read. */
  push(chunk: Uint8Array): void {
    this.decoder.push(chunk)
  }

  /** The whole snapshot has been read: the restored machine (or the error saying what was missing). */
  finish(): Machine {
    this.decoder.finish()
    return this.loader.machine!
  }
}

/** A snapshot held in memory, restored onto a fresh machine (see SnapshotRestore). */
export function restoreSnapshot(bytes: Uint8Array, file: string, makeMachine: (config: MachineConfig) => Machine, options: SnapshotOptions = {}): Machine {
  const restore = new SnapshotRestore(file, makeMachine, options)
  restore.push(bytes)
  return restore.finish()
}
