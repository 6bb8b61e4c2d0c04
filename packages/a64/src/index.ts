export { toInstructionWord } from './word.js'
