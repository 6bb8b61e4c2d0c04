/**
 * What the VMM puts in guest memory before the first run: the structured code, the stage-1
 * tables and the random code in the main slot, data (bytes and pointers) in the filled
 * pages, and allocation tags for some of them. Computed once per scenario.
 */
import { pointerHalves } from './pointers.js'
import {
  CODE_OFFSET,
  SETUP_OFFSET,
  SETUP_BYTES,
  TABLES_OFFSET,
  VECTORS_OFFSET,
  buildTables,
  setupCode,
  vectorCode,
} from './layout.js'
import { Rng } from './rng.js'
import type { Scenario, SlotSpec } from './scenario.js'

const PAGE = 4096

export interface SlotImage {
  /** Non-zero pages only: page index → 4 KiB of data. Every other page starts untouched. */
  readonly pages: Map<number, Uint8Array>
  /** Pages given allocation tags by the VMM (KVM_ARM_MTE_COPY_TAGS): page → 256 tags. */
  readonly tags: Map<number, Uint8Array>
}

const cache = new WeakMap<Scenario, Map<number, SlotImage>>()

/** The initial contents of every slot (cached per scenario object). */
export function scenarioImage(s: Scenario): Map<number, SlotImage> {
  const cached = cache.get(s)
  if (cached) return cached
  const images = new Map<number, SlotImage>()
  for (const slot of s.slots) images.set(slot.slot, { pages: new Map(), tags: new Map() })
  const main = images.get(0)
  if (!main) throw new RangeError('scenario has no slot 0')
  const place = (offset: number, bytes: Uint8Array): void => {
    for (let at = 0; at < bytes.length; at += PAGE) {
      const page = (offset + at) / PAGE
      let buf = main.pages.get(page)
      if (!buf) main.pages.set(page, (buf = new Uint8Array(PAGE)))
      buf.set(bytes.subarray(at, Math.min(at + PAGE, bytes.length)))
    }
  }
  const wordsAt = (offset: number, words: Uint32Array | readonly number[]): void => {
    const bytes = new Uint8Array(words.length * 4)
    const view = new DataView(bytes.buffer)
    words.forEach((w, i) => view.setUint32(4 * i, w >>> 0, true))
    place(offset, bytes)
  }
  const codeBytes = s.code.length * 4
  s.vcpus.forEach((_, i) => {
    wordsAt(SETUP_OFFSET + i * SETUP_BYTES, setupCode(s, i))
    wordsAt(VECTORS_OFFSET + i * 0x1000, vectorCode(i, codeBytes))
  })
  if (s.regime.mmu !== 'off') place(TABLES_OFFSET, buildTables(s.regime, s.pages))
  wordsAt(CODE_OFFSET, s.code)
  const rng = new Rng(s.dataSeed)
  for (const [slotId, page] of s.filledPages) {
    const image = images.get(slotId)
    const slot = s.slots.find((x) => x.slot === slotId)
    if (!image || !slot) continue
    image.pages.set(page, dataPage(rng, s, slot))
    if (s.mte && !slot.readonly && rng.chance(0.5)) {
      const tags = new Uint8Array(PAGE / 16)
      for (let g = 0; g < tags.length; g++) tags[g] = rng.chance(0.3) ? 0 : rng.int(16)
      image.tags.set(page, tags)
    }
  }
  cache.set(s, images)
  return images
}

/** 4 KiB of data: pointers (so loads lead to more memory), small numbers and noise. */
function dataPage(rng: Rng, s: Scenario, _slot: SlotSpec): Uint8Array {
  const bytes = new Uint8Array(PAGE)
  const view = new DataView(bytes.buffer)
  const style = rng.int(3)
  for (let at = 0; at < PAGE; at += 8) {
    const pick = style === 0 ? rng.int(10) : style === 1 ? rng.int(4) : 9
    if (pick < 4) {
      const [lo, hi] = pointerHalves(rng, s.regime, s.slots)
      view.setUint32(at, lo, true)
      view.setUint32(at + 4, hi, true)
    }
    else if (pick < 7) view.setUint32(at, rng.int(256), true)
    else {
      view.setUint32(at, rng.u32(), true)
      view.setUint32(at + 4, rng.u32(), true)
    }
  }
  return bytes
}
