/** Exception classes (ESR_ELx.EC) the CPU reports. */
export const ExceptionClass = {
  UNKNOWN: 0x00,
  WFX: 0x01,
  FP_ACCESS: 0x07,
  ILLEGAL_STATE: 0x0e,
  SVC64: 0x15,
  HVC64: 0x16,
  SMC64: 0x17,
  SYS64: 0x18,
  IABT_LOWER: 0x20,
  IABT_CURRENT: 0x21,
  PC_ALIGN: 0x22,
  DABT_LOWER: 0x24,
  DABT_CURRENT: 0x25,
  SP_ALIGN: 0x26,
  BRK64: 0x3c,
} as const

/** Builds an ESR_ELx value: EC in 31:26, IL in 25, ISS in 24:0. */
export function syndrome(ec: number, il: boolean, iss: number): number {
  return ((ec << 26) | (il ? 1 << 25 : 0) | (iss & 0x1ff_ffff)) >>> 0
}
