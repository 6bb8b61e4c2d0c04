export {
  FDT_MAGIC,
  writeFdt,
  readFdt,
  findNode,
  getProp,
  propAsCells,
  propAsStrings,
  propCells,
  propStrings,
  propU64,
  node,
  PROP_EMPTY,
  type Fdt,
  type FdtNode,
  type FdtProperty,
  type FdtReservation,
} from './fdt.js'
export { virtMachineFdt, virtMachineFdtTree, VIRT_RAM_BASE, VIRT_UART_BASE, VIRT_FDT_SIZE, type VirtFdtConfig } from './virt.js'
