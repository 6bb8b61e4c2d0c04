import { defineConfig } from 'tsup'
import { libraryBuild } from '../../scripts/release/tsup-library.js'

export default defineConfig(libraryBuild())
