import type { Machine } from '../machine/machine.js'
import { SCAN_CHUNK_PAGES } from '../memory/guest-memory.js'
import { PAGE_SIZE, PageBatch, batchGuestBytes } from '../memory/page.js'
import type { TransferProgress } from '../progress.js'
import type { SnapshotEncoder } from './format.js'

/**
 * The batch every save fills, kept: memory a process touches for the first time is slow on
 * some hosts (page faults of tens of microseconds), and a save is synchronous, so one batch
 * serves them all (the encoder is done with it when writePages returns).
 */
let saveBatch: PageBatch | undefined

/**
 * Writes a stopped machine into a snapshot: its config, every vCPU's ONE_REG registers, device
 * state, and every page that holds data or tags (tags through KVM_ARM_MTE_COPY_TAGS), a
 * batch of pages per record. Progress is RAM walked. Returns the guest bytes saved (data +
 * tags).
 */
export function writeMachineSnapshot(machine: Machine, enc: SnapshotEncoder, progress?: TransferProgress): number {
  let guestBytes = 0
  enc.writeConfig(machine.config)
  for (const state of machine.saveVcpus()) enc.writeVcpu(state)
  for (const device of machine.saveDevices()) enc.writeDevice(device)
  saveBatch ??= new PageBatch(SCAN_CHUNK_PAGES)
  for (const batch of machine.memory.batches(saveBatch)) {
    enc.writePages(batch)
    guestBytes += batchGuestBytes(batch)
    progress?.update(batch.gpas[batch.count - 1]! + PAGE_SIZE - machine.config.ramBase)
  }
  enc.end()
  return guestBytes
}
