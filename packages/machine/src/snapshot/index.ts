export { crc32, portableCrc32, useNativeCrc32 } from './crc32.js'
export { Sha256, sha256 } from './sha256.js'
export {
  RecordType,
  RecordDecoder,
  RECORD_NAMES,
  encodeRecord,
  encodePagesRecord,
  decodePages,
  MAX_BATCH_PAGES,
  encodeVcpu,
  decodeVcpu,
  oneRegSize,
  type RawRecord,
  type OneReg,
  type VcpuState,
  type DeviceSnapshot,
  type RecordTypeValue,
} from './records.js'
export {
  SnapshotEncoder,
  SnapshotDecoder,
  encodeSnapshot,
  writeSnapshotTo,
  decodeSnapshot,
  isSnapshot,
  SNAPSHOT_VERSION,
  SNAPSHOT_MAGIC,
  type Snapshot,
  type SnapshotHandlers,
  type SnapshotOptions,
  type SnapshotEncoderOptions,
  type SnapshotDecoderOptions,
  type Digest,
} from './format.js'
export { writeMachineSnapshot } from './save.js'
