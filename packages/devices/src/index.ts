export { MmioBus, type MmioDevice } from './bus.js'
