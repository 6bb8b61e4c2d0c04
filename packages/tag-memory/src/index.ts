export * from './constants.js'
export { checkTag, packTag, unpackTag } from './tags.js'
export { Errno, ErrnoError, type ErrnoName } from './errno.js'
