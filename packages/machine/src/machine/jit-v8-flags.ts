/**
 * V8 flags a Node host sets (node:v8 `setFlagsFromString`) before it runs a machine with `jit`;
 * a browser has no such call and runs with V8's defaults.
 *
 * V8 compiles a wasm function with Liftoff at its first call and again with TurboFan once the
 * function has spent its tiering budget (roughly bytes of code executed: 1.8 M by default in Node
 * 20's V8). The compiled tier makes thousands of region functions, most of which run hot for a
 * while and then rarely: in Debian's Linux boot to /init, TurboFan's wasm compiles were 22.6% of
 * the process's host instructions (callgrind, node --single-threaded), more than the guest's
 * translated code itself gained from them. Ten times the budget leaves such functions in Liftoff
 * code and still tiers up the ones that keep running (a benchmark's inner loop within
 * milliseconds): on the first 300 M instructions of the boot, TurboFan's wasm work 10.5 -> 6.2 G
 * host instructions, translated code 19.5 -> 20.0 G, the process 51.9 -> 48.0 G.
 */
export const JIT_V8_FLAGS = '--wasm-tiering-budget=18000000'
