// The part of the WebAssembly JS API this prototype uses, typed here because the project's
// TypeScript setup (lib ES2022 + @types/node 20) declares no WebAssembly values.

export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer
}
export interface WasmTable {
  readonly length: number
  grow(delta: number): number
  set(index: number, fn: (...args: number[]) => number): void
}
export type WasmModule = object
export interface WasmInstance {
  readonly exports: Record<string, unknown>
}
export type WasmImports = Record<string, Record<string, WasmMemory | WasmTable | ((...args: number[]) => number)>>

interface WasmApi {
  Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory
  Table: new (d: { initial: number; element: 'anyfunc' }) => WasmTable
  Module: new (bytes: Uint8Array) => WasmModule
  Instance: new (module: WasmModule, imports: WasmImports) => WasmInstance
}

export const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly
