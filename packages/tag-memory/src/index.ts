export * from './constants.js'
export { checkTag, packTag, unpackTag } from './tags.js'
export { Errno, ErrnoError, type ErrnoName } from './errno.js'
export {
  PhysicalMemory,
  CHUNK_SIZE,
  MAX_PHYSICAL_MEMORY,
  type FrameData,
  type FrameTags,
  type PhysicalMemoryOptions,
  type WatchedFrameWriteListener,
} from './physical-memory.js'
