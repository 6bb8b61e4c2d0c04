import { defineConfig } from 'tsup'
import { libraryBuild } from '../../scripts/release/tsup-library.js'

// One ESM file per module, so programs that only decode can leave the disassembler out
// (test/bundle-size.test.ts).
export default defineConfig(libraryBuild({ preserveModules: true }))
