export { COMMANDS, helpText, parseCommand, type ParsedCommand } from './cli-args.js'
export { VERSION } from './version.js'
