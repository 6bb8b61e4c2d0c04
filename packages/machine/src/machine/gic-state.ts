// The vGICv3's saved state as a device record (JSON): what QEMU saves of a KVM GIC, taken and
// given back through the device attributes only (`saveVgicV3` / `restoreVgicV3` in
// @tagvm/vmm-api). The timers need no record of their own: their registers are ONE_REGs in
// each vCPU's register list.
import type { DeviceState } from '@tagvm/devices'
import type { RegisterValues, VgicV3State } from '@tagvm/vmm-api'
import { MachineRefusedError } from '../errors.js'

/** The device record's name. */
export const GIC_DEVICE = 'gicv3'
/** The device record's state type. */
export const GIC_STATE_TYPE = 'kvm-vgic-v3'
const VERSION = 1

/** The device record holding a saved vGIC. */
export function gicDeviceState(state: VgicV3State): DeviceState {
  return { type: GIC_STATE_TYPE, version: VERSION, ...state }
}

const isU32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff

function pairs(value: unknown, field: string): RegisterValues {
  if (!Array.isArray(value) || !value.every((p) => Array.isArray(p) && p.length === 2 && isU32(p[0]) && isU32(p[1]))) {
    throw new MachineRefusedError(`device ${GIC_DEVICE}: ${field} must be a list of [offset, 32-bit value] pairs`)
  }
  return value as RegisterValues
}

/** Reads a saved vGIC record back, refusing anything malformed (nothing is applied then). */
export function gicStateFromDevice(state: DeviceState): VgicV3State {
  if (state.type !== GIC_STATE_TYPE || state.version !== VERSION) {
    throw new MachineRefusedError(`device ${GIC_DEVICE}: ${String(state.type)} version ${String(state.version)} is not a ${GIC_STATE_TYPE} version ${VERSION} state`)
  }
  if (!isU32(state.nrIrqs)) throw new MachineRefusedError(`device ${GIC_DEVICE}: nrIrqs must be a number`)
  const vcpus = state.vcpus
  if (!Array.isArray(vcpus)) throw new MachineRefusedError(`device ${GIC_DEVICE}: vcpus must be a list`)
  return {
    nrIrqs: state.nrIrqs,
    dist: pairs(state.dist, 'dist'),
    spiLevels: pairs(state.spiLevels, 'spiLevels'),
    vcpus: vcpus.map((v: unknown, i) => {
      const r = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>
      if (!isU32(r.ppiLevels)) throw new MachineRefusedError(`device ${GIC_DEVICE}: vcpus[${i}].ppiLevels must be a 32-bit value`)
      return { redist: pairs(r.redist, `vcpus[${i}].redist`), sys: pairs(r.sys, `vcpus[${i}].sys`), ppiLevels: r.ppiLevels }
    }),
  }
}
