import { EXIT_OK, type Command } from '../cli-args.js'
import type { CliIo } from '../cli-io.js'
import { bashCompletion, zshCompletion } from '../completion.js'
import { BUNDLED_GUESTS, bundledGuestsDir } from '../guests.js'

/** `tagvm guests`: the guests that come with tagvm, and where they are. */
export function guestsCommand(_command: Extract<Command, { name: 'guests' }>, io: CliIo): number {
  const width = Math.max(...BUNDLED_GUESTS.map((g) => g.name.length)) + 2
  const lines = [
    `Guests that come with tagvm ('tagvm run --guest NAME'), in ${bundledGuestsDir()}:`,
    ...BUNDLED_GUESTS.map((g) => `  ${g.name.padEnd(width)}${g.summary}`),
    "Each NAME/ holds NAME.elf, its source main.c, and qemu.out: what QEMU 10 prints for it, which tagvm's output matches byte for byte.",
    '',
  ]
  io.stdout.write(lines.join('\n'))
  return EXIT_OK
}

/** `tagvm completion bash|zsh`: the script on standard output. */
export function completionCommand(command: Extract<Command, { name: 'completion' }>, io: CliIo): number {
  io.stdout.write(command.shell === 'bash' ? bashCompletion() : zshCompletion())
  return EXIT_OK
}
