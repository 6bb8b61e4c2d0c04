// `pnpm docs`: builds the API reference (dist/api) from the doc comments of every library's
// public surface with TypeDoc (typedoc.json), and fails on any TypeDoc error or warning: a
// broken {@link}, a public type that is not exported, or an exported name without a doc
// comment. Exports that were undocumented when this check started are listed in
// scripts/release/undocumented-exports.txt; the list may only shrink (a name documented since
// is reported so it can be struck off, a new undocumented export fails).
//
// Usage: tsx scripts/release/docs.ts [--update-baseline]
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from './workspace.js'

const BASELINE = join(REPO_ROOT, 'scripts', 'release', 'undocumented-exports.txt')
const NOT_DOCUMENTED = /^\[warning\] (.+), defined in .+, does not have any documentation$/
const SUMMARY = /^\[(warning|error)\] Found \d+ errors and \d+ warnings$/

function typedoc(): Promise<{ code: number; lines: string[] }> {
  return new Promise((done) => {
    execFile(join(REPO_ROOT, 'node_modules', '.bin', 'typedoc'), [], { cwd: REPO_ROOT, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      // eslint-disable-next-line no-control-regex
      const lines = `${stdout}\n${stderr}`.replace(/\u001b\[[0-9;]*m/g, '').split('\n').map((l) => l.trim()).filter(Boolean)
      done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, lines })
    })
  })
}

function readBaseline(): Set<string> {
  const text = readFileSync(BASELINE, 'utf8')
  return new Set(text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')))
}

const BASELINE_HEADER = `# Exported names that had no doc comment when \`pnpm docs\` started to check them.
# Strike a line off when its name gets a doc comment; never add one (document the export).
`

async function main(): Promise<void> {
  const update = process.argv.includes('--update-baseline')
  const { code, lines } = await typedoc()
  const undocumented: string[] = []
  const otherProblems: string[] = []
  for (const line of lines) {
    const missing = NOT_DOCUMENTED.exec(line)
    if (missing?.[1]) undocumented.push(missing[1])
    else if ((line.startsWith('[warning]') || line.startsWith('[error]')) && !SUMMARY.test(line)) otherProblems.push(line)
  }
  if (update) {
    writeFileSync(BASELINE, BASELINE_HEADER + [...new Set(undocumented)].sort().join('\n') + '\n')
    console.log(`wrote ${undocumented.length} names to ${BASELINE}`)
  }
  const baseline = readBaseline()
  const fresh = undocumented.filter((name) => !baseline.has(name))
  const documentedSince = [...baseline].filter((name) => !undocumented.includes(name))
  for (const line of lines.filter((l) => l.startsWith('[info]'))) console.log(line)
  if (documentedSince.length) {
    console.log(`${documentedSince.length} names in scripts/release/undocumented-exports.txt are documented (or gone) now; strike them off:`)
    for (const name of documentedSince) console.log(`  ${name}`)
  }
  console.log(`API reference: ${undocumented.length} exported names still without a doc comment (all listed in the baseline: ${fresh.length === 0})`)
  const failures = [...otherProblems, ...fresh.map((name) => `${name} is exported without a doc comment`)]
  if (code !== 0 && failures.length === 0) failures.push(`typedoc exited with ${code}:\n${lines.join('\n')}`)
  if (failures.length) {
    console.error(`pnpm docs failed:\n  ${failures.join('\n  ')}`)
    process.exitCode = 1
  }
}

await main()
