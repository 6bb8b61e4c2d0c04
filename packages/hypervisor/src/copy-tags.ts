import { ErrnoError, GRANULES_PER_PAGE, PAGE_SIZE } from '@tagvm/tag-memory'
import type { Vm } from './vm.js'

export const KVM_ARM_TAGS_TO_GUEST = 0
export const KVM_ARM_TAGS_FROM_GUEST = 1
/** The ioctl returns an `int`: Linux refuses longer requests (since 6.3) so the count always fits. */
const INT_MAX = 0x7fff_ffff

/** struct kvm_arm_copy_mte_tags without `addr` (the user buffer is passed separately). */
export interface CopyMteTagsRequest {
  readonly guestIpa: number
  readonly length: number
  readonly flags: number
  readonly reserved?: readonly [number, number]
}

/**
 * The VMM's tag buffer (one tag per byte). Each call copies `count` bytes at byte `offset`
 * of the buffer and returns how many it copied (fewer when the buffer ends or faults), as
 * copy_to_user/copy_from_user do.
 */
export interface UserTagBuffer {
  copyToUser(offset: number, tags: Uint8Array): number
  copyFromUser(offset: number, tags: Uint8Array): number
}

/**
 * KVM_ARM_MTE_COPY_TAGS (arch/arm64/kvm/guest.c, kvm_vm_ioctl_mte_copy_tags): copies the
 * tags of [guestIpa, guestIpa+length) to or from `user`, a memslot's run of pages at a time
 * (faulted in together, one copy each way), stopping at the first page that fails as Linux's
 * page-by-page loop does. Returns the bytes of guest memory done: `length`, or fewer when a
 * later page failed; throws when the first page fails or the request is bad (EINVAL, including a length above INT_MAX, as Linux 6.3
 * and later refuse it), with nothing changed.
 */
export function mteCopyTags(vm: Vm, request: CopyMteTagsRequest, user: UserTagBuffer): number {
  const { guestIpa, length, flags } = request
  const reserved = request.reserved ?? [0, 0]
  for (const [name, value] of Object.entries({ guestIpa, length, flags, reserved0: reserved[0], reserved1: reserved[1] })) {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`)
  }
  if (!vm.mteEnabled) throw new ErrnoError('EINVAL', 'the VM does not have KVM_CAP_ARM_MTE')
  if (reserved[0] !== 0 || reserved[1] !== 0) throw new ErrnoError('EINVAL', 'reserved fields must be zero')
  if ((flags & ~KVM_ARM_TAGS_FROM_GUEST) !== 0 || flags > 1) throw new ErrnoError('EINVAL', `flags 0x${flags.toString(16)} has unknown bits`)
  if (length % PAGE_SIZE !== 0 || guestIpa % PAGE_SIZE !== 0) throw new ErrnoError('EINVAL', 'guest_ipa and length must be page aligned')
  if (length > INT_MAX) throw new ErrnoError('EINVAL', `length 0x${length.toString(16)} is above INT_MAX: the count returned could not hold it`)
  const toGuest = (flags & KVM_ARM_TAGS_FROM_GUEST) === 0
  const { memory } = vm.hypervisor
  let done = 0
  let failure: ErrnoError | undefined
  while (done < length) {
    // A step: the pages of one memslot, up to STEP_PAGES, faulted in together, their tags
    // moved with one copy each way.
    const ipa = guestIpa + done
    const gfn = ipa / PAGE_SIZE
    const slot = vm.memslots.findByGfn(gfn)
    if (!slot || (toGuest && slot.readOnly)) {
      failure = pageFailure(vm, ipa, toGuest)
      break
    }
    const want = Math.min(STEP_PAGES, (length - done) / PAGE_SIZE, slot.baseGfn + slot.npages - gfn)
    let ready: number
    try {
      ready = vm.mm.faultInPages(slot.hvaOfGfn(gfn), want, { write: toGuest }, stepFrames)
    } catch (error) {
      if (!(error instanceof ErrnoError)) throw error
      failure = new ErrnoError('EFAULT', `IPA 0x${ipa.toString(16)}: ${error.message}`)
      break
    }
    // Device memory has no struct page online (ZONE_DEVICE / pfnmap): refused at that page.
    for (let i = 0; i < ready; i++) {
      if (memory.isDeviceFrame(stepFrames[i] as number)) {
        ready = i
        break
      }
    }
    const userOffset = (done / PAGE_SIZE) * GRANULES_PER_PAGE
    const tags = stepTags.subarray(0, ready * GRANULES_PER_PAGE)
    let whole: number
    if (!toGuest) {
      memory.readFrameTags(stepFrames, 0, ready, tags)
      whole = Math.floor(user.copyToUser(userOffset, tags) / GRANULES_PER_PAGE)
    } else {
      const copied = user.copyFromUser(userOffset, tags)
      whole = Math.floor(copied / GRANULES_PER_PAGE)
      // The tag is the low nibble of each byte (an STG of the byte shifted into bits 59:56).
      maskNibbles(tags, whole * GRANULES_PER_PAGE)
      memory.writeFrameTags(stepFrames, 0, whole, tags)
      if (whole < ready) {
        // A short user copy must not leave stale tags behind: that page gets zeros, valid.
        tags.fill(0, whole * GRANULES_PER_PAGE, (whole + 1) * GRANULES_PER_PAGE)
        memory.writeFrameTags(stepFrames, whole, 1, tags, whole * GRANULES_PER_PAGE)
      }
    }
    done += whole * PAGE_SIZE
    if (whole < ready) {
      failure = new ErrnoError('EFAULT', `the tag buffer could not take page 0x${(guestIpa + done).toString(16)}`)
      break
    }
    if (ready < want) {
      // The page that stopped the step says why (EFAULT).
      failure = pageFailure(vm, guestIpa + done, toGuest)
      break
    }
  }
  if (done > 0) return done
  if (failure) throw failure
  return length
}

/** Pages moved per step, and the step's frames and tags (reused: the ioctl runs to completion on one thread). */
const STEP_PAGES = 256
const stepFrames = new Float64Array(STEP_PAGES)
const stepTags = new Uint8Array(STEP_PAGES * GRANULES_PER_PAGE)

/** Keeps the low nibble of the first `count` bytes, four at a time where aligned. */
function maskNibbles(bytes: Uint8Array, count: number): void {
  let i = 0
  if ((bytes.byteOffset & 3) === 0) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, count >>> 2)
    for (let w = 0; w < words.length; w++) words[w] = (words[w] as number) & 0x0f0f_0f0f
    i = words.length * 4
  }
  for (; i < count; i++) bytes[i] = (bytes[i] as number) & 0xf
}

/**
 * Why the page at `ipa` stopped a copy (EFAULT): asked only of a page the bulk path could not
 * take; should it fault in now after all, the copy still ends there.
 */
function pageFailure(vm: Vm, ipa: number, write: boolean): ErrnoError {
  const frame = guestPageFrame(vm, ipa, write)
  return typeof frame === 'number' ? new ErrnoError('EFAULT', `IPA 0x${ipa.toString(16)} could not be faulted in`) : frame
}

/** gfn_to_pfn_prot for one page: its host frame, or the error KVM reports (EFAULT). */
function guestPageFrame(vm: Vm, ipa: number, write: boolean): number | ErrnoError {
  const gfn = ipa / PAGE_SIZE
  const slot = vm.memslots.findByGfn(gfn)
  if (!slot) return new ErrnoError('EFAULT', `no memslot holds IPA 0x${ipa.toString(16)}`)
  if (write && slot.readOnly) return new ErrnoError('EFAULT', `IPA 0x${ipa.toString(16)} is in a read-only memslot`)
  let page
  try {
    page = vm.mm.faultIn(slot.hvaOfGfn(gfn), { write })
  } catch (error) {
    if (error instanceof ErrnoError) return new ErrnoError('EFAULT', `IPA 0x${ipa.toString(16)}: ${error.message}`)
    throw error
  }
  // Device memory has no struct page online (ZONE_DEVICE / pfnmap): refused.
  if (page.device) return new ErrnoError('EFAULT', `IPA 0x${ipa.toString(16)} is device memory without tags`)
  return page.pfn
}

/**
 * The value the generic ioctl path hands back: `int` (kvm-mte.md §7, "COPY_TAGS return
 * width"). A byte count of 2 GiB or more would wrap; the INT_MAX check keeps every count
 * below that.
 */
export function copyTagsIoctlReturn(bytes: number): number {
  return bytes | 0
}
