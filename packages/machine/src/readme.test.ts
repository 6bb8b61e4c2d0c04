import { test } from 'vitest'
import { fileURLToPath } from 'node:url'
import { runReadmeExample } from '../../../scripts/readme-example.js'

test('the README example runs', async () => {
  await runReadmeExample(fileURLToPath(new URL('..', import.meta.url)), '@tagvm/machine')
})
