/**
 * What every emulated device offers the VMM besides its MMIO registers: a reset to its
 * power-on state, and a snapshot of its state as plain JSON-compatible data.
 */
export interface Device {
  readonly name: string
  /** Returns the device to its power-on state (outputs and callbacks stay attached). */
  reset(): void
  /** The device's state as JSON-compatible data, tagged with its type and format version. */
  saveState(): DeviceState
  /**
   * Replaces the device's state with a saved one. A state of another type or version, or one
   * with a missing or out-of-range field, is refused with a DeviceStateError naming the
   * problem, and the device is left as it was.
   */
  loadState(state: DeviceState): void
}

/** Saved device state: JSON-compatible, self-describing. */
export interface DeviceState {
  readonly type: string
  readonly version: number
  readonly [field: string]: unknown
}

// Same in every copy of this package (see isDeviceStateError), unlike the class itself.
const DEVICE_STATE_ERROR_BRAND = Symbol.for('@tagvm/devices.DeviceStateError')

/**
 * A saved state a device refuses (wrong type, version or revision, a field missing or out of
 * range). Callers that restore from a file or stream turn it into an error naming where the
 * state came from; test for it with {@link isDeviceStateError}.
 */
export class DeviceStateError extends Error {
  override readonly name = 'DeviceStateError'
  constructor(message: string) {
    super(message)
    Object.defineProperty(this, DEVICE_STATE_ERROR_BRAND, { value: true })
  }
}

/**
 * Whether `value` is a {@link DeviceStateError} made by any copy of @tagvm/devices: use it
 * instead of `instanceof` on errors that cross package boundaries.
 */
export function isDeviceStateError(value: unknown): value is DeviceStateError {
  return typeof value === 'object' && value !== null && (value as { [DEVICE_STATE_ERROR_BRAND]?: unknown })[DEVICE_STATE_ERROR_BRAND] === true
}

/** Reads an integer field of a saved state, refusing values outside [min, max]. */
export function stateInt(state: DeviceState, field: string, min: number, max: number): number {
  const value = state[field]
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new DeviceStateError(`${state.type} state: field '${field}' must be an integer in [${min}, ${max}], got ${JSON.stringify(value)}`)
  }
  return value
}

/** Checks a saved state's type and version before any field is read. */
export function checkStateHeader(state: DeviceState, type: string, version: number): void {
  if (typeof state !== 'object' || state === null) throw new DeviceStateError(`${type} state: expected an object`)
  if (state.type !== type) throw new DeviceStateError(`${type} state: wrong device type ${JSON.stringify(state.type)}`)
  if (state.version !== version) throw new DeviceStateError(`${type} state: unsupported version ${JSON.stringify(state.version)} (expected ${version})`)
}
