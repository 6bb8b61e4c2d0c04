import { disassembleBytes } from '@tagvm/machine'
import { EXIT_OK, type Command } from '../cli-args.js'
import type { CliIo } from '../cli-io.js'
import { readInputFile } from '../files/input.js'

/** `tagvm disasm FILE`: an objdump-like listing on standard output. */
export function disasmCommand(command: Extract<Command, { name: 'disasm' }>, io: CliIo): number {
  io.stdout.write(disassembleBytes(readInputFile(command.file), command.file, command.base === undefined ? {} : { base: command.base }))
  return EXIT_OK
}
