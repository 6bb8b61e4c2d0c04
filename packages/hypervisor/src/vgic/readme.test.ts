import { test } from 'vitest'
import { runFolderReadme } from './test-support.js'

test('the vGIC README example runs', async () => {
  await runFolderReadme(new URL('.', import.meta.url))
})
