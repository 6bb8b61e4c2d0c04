import { isSnapshot, renderHtmlTagMap, renderTerminalTagMap, type MachineConfig, type PageRecord } from '@tagvm/machine'
import { EXIT_OK, type Command } from '../cli-args.js'
import { CommandFailure, type CliIo } from '../cli-io.js'
import { checkOutputPath, writeFileAtomic } from '../files/atomic.js'
import { readFileHead } from '../files/input.js'
import { loadSnapshotFile } from '../files/snapshot-file.js'
import { bootImage, commandLineMachine } from './common.js'

type TagsCommand = Extract<Command, { name: 'tags' }>

/**
 * `tagvm tags IMAGE`: runs the image (for --after-insns instructions, or until it powers off)
 * on a machine whose console is discarded, since standard output is the map, and returns its
 * tagged pages as read through KVM_ARM_MTE_COPY_TAGS.
 */
export function liveImageTags(command: TagsCommand, io: CliIo): { config: MachineConfig; pages: PageRecord[] } {
  if (!command.machine.mte) throw new CommandFailure(`tags ${command.input}: a machine with --mte off has no tags to show`)
  const machine = commandLineMachine(command.machine, io, { console: () => {}, message: (text) => io.stderr.write(`tagvm: ${text}\n`) })
  bootImage(machine, command.input, command.machine)
  const stop = machine.run(command.afterInsns ?? command.machine.maxInsns ?? Number.POSITIVE_INFINITY)
  if (stop.kind === 'error') throw new CommandFailure(`tags ${command.input}: the guest cannot continue: ${stop.message}`)
  if (!command.quiet) io.stderr.write(`tagvm: tags of ${command.input} after ${machine.retired} instructions (${stop.kind === 'budget' ? 'stopped' : stop.kind})\n`)
  return { config: machine.config, pages: [...machine.memory.pages({ taggedOnly: true })] }
}

/** `tagvm tags IMAGE|SNAPSHOT`: the tag map on the terminal, or as an HTML page. */
export function tagsCommand(command: TagsCommand, io: CliIo): number {
  if (command.html !== undefined) checkOutputPath(command.html)
  const snap = isSnapshot(readFileHead(command.input, 8)) ? loadSnapshotFile(command.input) : liveImageTags(command, io)
  const input = { ramBase: snap.config.ramBase, ramSize: snap.config.ramSize, pages: snap.pages }
  if (command.html !== undefined) {
    const html = new TextEncoder().encode(renderHtmlTagMap(input, { title: `tagvm tag map of ${command.input}` }))
    writeFileAtomic(command.html, (write) => write(html))
    if (!command.quiet) io.stderr.write(`tagvm: wrote ${command.html}\n`)
  } else {
    io.stdout.write(renderTerminalTagMap(input, { columns: command.width ?? io.stdout.columns ?? 80, color: io.stdout.isTTY === true }))
  }
  return EXIT_OK
}
