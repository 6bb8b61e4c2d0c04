export { crc32c } from './crc32c.js'
export {
  RecordType,
  RecordDecoder,
  encodeRecord,
  encodePage,
  encodePageRecord,
  decodePage,
  encodeVcpu,
  decodeVcpu,
  pageWorthSaving,
  oneRegSize,
  PAGE_SIZE,
  TAG_BYTES_PER_PAGE,
  type PageRecord,
  type RawRecord,
  type OneReg,
  type VcpuState,
  type RecordTypeValue,
} from './records.js'
export { SnapshotEncoder, encodeSnapshot, decodeSnapshot, SNAPSHOT_VERSION, SNAPSHOT_MAGIC, type Snapshot, type DeviceSnapshot } from './format.js'
export { writeFileAtomic, type FileIo } from './atomic.js'
export { saveSnapshotFile, loadSnapshotFile } from './file.js'
