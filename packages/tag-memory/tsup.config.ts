import { defineConfig } from 'tsup'
import { libraryBuild } from '../../scripts/release/tsup-library.js'

// Members marked @internal (kernel ↔ address-space plumbing) stay out of the types.
export default defineConfig(libraryBuild({ dtsCompilerOptions: { stripInternal: true } }))
