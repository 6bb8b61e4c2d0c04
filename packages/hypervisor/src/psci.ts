/** PSCI function ids (SMC Calling Convention, 64-bit where both exist) and return codes. */
export const PsciFunction = {
  VERSION: 0x8400_0000,
  CPU_SUSPEND_64: 0xc400_0001,
  CPU_OFF: 0x8400_0002,
  CPU_ON_64: 0xc400_0003,
  AFFINITY_INFO_64: 0xc400_0004,
  MIGRATE_INFO_TYPE: 0x8400_0006,
  SYSTEM_OFF: 0x8400_0008,
  SYSTEM_RESET: 0x8400_0009,
  FEATURES: 0x8400_000a,
} as const

export const PsciReturn = {
  SUCCESS: 0,
  NOT_SUPPORTED: -1,
  INVALID_PARAMETERS: -2,
  DENIED: -3,
  ALREADY_ON: -4,
  ON_PENDING: -5,
  INTERNAL_FAILURE: -6,
  NOT_PRESENT: -7,
  DISABLED: -8,
  INVALID_ADDRESS: -9,
} as const

/** PSCI 1.1 as reported by PSCI_VERSION: major in 31:16, minor in 15:0. */
export const PSCI_VERSION_1_1 = (1 << 16) | 1
