import { ACCESS_FETCH, ACCESS_READ, ACCESS_WRITE, FAULT_NONE } from './constants.js'
import type { AccessKind, FaultKind } from './constants.js'

/**
 * Where one translation's outcome goes. Callers keep one and reuse it: translate/walk
 * overwrite the fields that matter for the outcome and allocate nothing.
 */
export class TranslationResult {
  // Success
  /** Final physical address of the accessed byte. */
  pa = 0
  /** Intermediate physical address (= pa when stage 2 is off). */
  ipa = 0
  tagged = false
  device = false
  /** Combined memory attributes as a MAIR byte (0xF0 shows as 0xF0 only when Tagged). */
  attrs = 0
  /** TLB entry that holds this translation, or -1 (walk(), or not cached). */
  tlbIndex = -1

  // Fault (valid when translate/walk returned false)
  fault: FaultKind = FAULT_NONE
  stage: 1 | 2 = 1
  /** Walk level the fault was found at (0..3). */
  level = 0
  access: AccessKind = ACCESS_READ
  /** A stage-2 fault taken on a stage-1 table read. */
  s1ptw = false
  /** DFSC/IFSC (6 bits). */
  fsc = 0
  /** The ISS bits the MMU knows: FSC | WnR << 6 | S1PTW << 7. The CPU adds the rest. */
  iss = 0
  /** The VA as given (tag bits included): FAR_EL1 / FAR_EL2. */
  farHi = 0
  farLo = 0
  /** Whether faultIpa/hpfar mean something (stage-2 faults). */
  ipaValid = false
  faultIpa = 0
  /** HPFAR_EL2 value: FIPA (IPA[47:12]) in bits 43:4. */
  hpfar = 0
}

/** Fault status code (DFSC/IFSC) for a fault kind and level. */
export function faultStatusCode(kind: FaultKind, level: number): number {
  switch (kind) {
    case 4: // address size
      return 0b000000 | level
    case 1: // translation
      return 0b000100 | level
    case 2: // access flag
      return 0b001000 | level
    case 3: // permission
      return 0b001100 | level
    case 5: // alignment
      return 0b100001
    case 6: // synchronous external abort on walk
      return 0b010100 | level
    default:
      throw new RangeError(`no fault status code for fault kind ${kind}`)
  }
}

/** Fills `out` with a fault record. Exported for the CPU's alignment faults. */
export function recordFault(
  out: TranslationResult,
  kind: FaultKind,
  stage: 1 | 2,
  level: number,
  access: AccessKind,
  s1ptw: boolean,
  vaHi: number,
  vaLo: number,
  ipaValid: boolean,
  ipa: number,
): false {
  const fsc = faultStatusCode(kind, level)
  out.fault = kind
  out.stage = stage
  out.level = level
  out.access = access
  out.s1ptw = s1ptw
  out.fsc = fsc
  // WnR: 1 for a write; 0 for a fetch and for a stage-1 table read (no hardware updates).
  const wnr = access === ACCESS_WRITE && !s1ptw ? 1 : 0
  out.iss = fsc | (access === ACCESS_FETCH ? 0 : wnr << 6) | (s1ptw ? 1 << 7 : 0)
  out.farHi = vaHi >>> 0
  out.farLo = vaLo >>> 0
  out.ipaValid = ipaValid
  out.faultIpa = ipaValid ? ipa : 0
  out.hpfar = ipaValid ? Math.floor(ipa / 4096) * 16 : 0
  out.tlbIndex = -1
  return false
}
