import type { Command } from '../cli-args.js'
import type { CliIo } from '../cli-main.js'
import type { MachineConfig } from '../config.js'
import type { PageRecord } from '../snapshot/records.js'
import { CommandFailure, bootImage, machineConfig } from './common.js'
import { Machine } from '../machine/machine.js'

type TagsCommand = Extract<Command, { name: 'tags' }>

/**
 * `tagvm tags IMAGE`: runs the image (for --after-insns instructions, or until it powers off)
 * on a machine whose console is discarded, since standard output is the map, and returns its
 * tagged pages as read through KVM_ARM_MTE_COPY_TAGS.
 */
export function liveImageTags(command: TagsCommand, io: CliIo): { config: MachineConfig; pages: PageRecord[] } {
  const config = machineConfig(command.machine)
  if (!config.mte) throw new CommandFailure(`tags ${command.input}: a machine with --mte off has no tags to show`)
  const machine = Machine.create(config, { console: () => {}, message: (text) => io.stderr.write(`tagvm: ${text}\n`) })
  bootImage(machine, command.input, command.machine)
  const stop = machine.run(command.afterInsns ?? command.machine.maxInsns ?? Number.POSITIVE_INFINITY)
  if (stop.kind === 'error') throw new CommandFailure(`tags ${command.input}: the guest cannot continue: ${stop.message}`)
  io.stderr.write(`tagvm: tags of ${command.input} after ${machine.retired} instructions (${stop.kind === 'budget' ? 'stopped' : stop.kind})\n`)
  return { config, pages: [...machine.savedPages()].filter((p) => p.tags !== null) }
}
