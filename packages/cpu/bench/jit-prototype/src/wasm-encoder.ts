// The prototype now uses the production tier's encoder (src/jit/wasm-encoder.ts): one
// WebAssembly encoder in the repository.
export * from '../../../src/jit/wasm-encoder.js'
