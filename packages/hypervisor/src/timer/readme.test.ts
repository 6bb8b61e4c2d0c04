import { test } from 'vitest'
import { runFolderReadme } from '../vgic/test-support.js'

test('the timer README example runs', async () => {
  await runFolderReadme(new URL('.', import.meta.url))
})
