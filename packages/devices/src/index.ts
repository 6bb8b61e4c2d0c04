/**
 * MMIO devices for the tagvm VMM: the PL011 UART and the bus that routes guest MMIO
 * accesses to devices by address. Accesses move bytes (`Uint8Array`), never numbers.
 *
 * @module \@tagvm/devices
 */
export { MmioBus, readMmio, writeMmio, type MmioDevice, type MmioRegion, type MmioSize } from './bus.js'
export { DeviceStateError, isDeviceStateError, type Device, type DeviceState } from './device.js'
export { Pl011, PL011, PL011_FR, PL011_INT, PL011_CR, type Pl011Options, type Pl011Revision } from './pl011.js'
export { Pl031, PL031, type Pl031Options } from './pl031.js'
