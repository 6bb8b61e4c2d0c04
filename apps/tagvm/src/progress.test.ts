import { expect, test } from 'vitest'
import { ProgressReporter, type ProgressStream } from './progress.js'

function sink(isTTY: boolean, columns = 80): ProgressStream & { out: string } {
  const s = { out: '', isTTY, columns, write: (t: string) => (s.out += t) }
  return s
}
const MiB = 1024 * 1024

test('not a terminal: a plain line every 10%, then done', () => {
  const s = sink(false)
  const p = new ProgressReporter(s, 'snapshot', 100 * MiB)
  for (let i = 0; i <= 100; i++) p.update(i * MiB)
  p.finish(100 * MiB)
  const lines = s.out.trimEnd().split('\n')
  expect(lines).toHaveLength(10)
  expect(lines[0]).toBe('snapshot: 10% (10.0 of 100.0 MiB)')
  expect(lines[8]).toBe('snapshot: 90% (90.0 of 100.0 MiB)')
  expect(lines[9]).toBe('snapshot: done, 100.0 MiB')
  expect(s.out).not.toContain('\r')
})

test('terminal: one bar redrawn in place, no redraw without change, newline at the end', () => {
  const s = sink(true, 80)
  const p = new ProgressReporter(s, 'restore', 4 * MiB)
  p.update(MiB)
  p.update(MiB)
  p.update(2 * MiB, 'round 2')
  p.finish(4 * MiB)
  const draws = s.out.split('\r').slice(1)
  expect(draws).toHaveLength(3)
  expect(draws[0]).toMatch(/^restore \[#+ +\] {2}25\.0% 1\.0\/4\.0 MiB/)
  expect(draws[1]).toContain('50.0% 2.0/4.0 MiB round 2')
  expect(draws[2]).toMatch(/^restore \[#+\] 100\.0% 4\.0\/4\.0 MiB *\n$/)
  for (const d of draws) expect(d.replace('\n', '').length).toBeLessThan(80)
})

test('bad totals and use after finish', () => {
  expect(() => new ProgressReporter(sink(false), 'x', -1)).toThrow(RangeError)
  const p = new ProgressReporter(sink(false), 'x', 0)
  p.finish(0)
  expect(() => p.update(1)).toThrow(/after finish/)
})
