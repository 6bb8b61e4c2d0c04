#!/usr/bin/env node
// Passes test output through unchanged and ends it with one plain line that adds up every
// package's vitest "Tests" line: "Total: N passed, M failed". Used by .ci/run.
import { createInterface } from 'node:readline'

let passed = 0
let failed = 0
let skipped = 0
const ansi = /\u001b\[[0-9;]*m/g
for await (const line of createInterface({ input: process.stdin })) {
  process.stdout.write(`${line}\n`)
  const plain = line.replace(ansi, '')
  const tests = /\bTests\s+(.*)\(\d+\)\s*$/.exec(plain)
  if (!tests?.[1]) continue
  for (const [, n, kind] of tests[1].matchAll(/(\d+) (passed|failed|skipped|todo)/g)) {
    if (kind === 'passed') passed += Number(n)
    else if (kind === 'failed') failed += Number(n)
    else skipped += Number(n)
  }
}
process.stdout.write(`Total: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`)
