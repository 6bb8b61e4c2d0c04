export { writeFileAtomic, checkOutputPath, OutputFileError, type FileIo } from './atomic.js'
export { InputFileError, readInputFile, readFileHead, readFileChunks } from './input.js'
export { saveSnapshotFile, loadSnapshotFile, saveMachine, restoreMachine } from './snapshot-file.js'
export { guestImageBytes, recogniseFile, MAX_UNPACKED_KERNEL, type GuestImageOptions } from './guest-image.js'
