// V8 gives an object field the representation of the first value stored in it: 0 makes a
// small-integer (Smi) field. The first value outside the 32-bit signed range (an address half
// or a syndrome of 2^31 and up) or computed in double arithmetic turns it into a double field
// for good: the object's map is replaced and every optimized function that checked the old one
// deoptimizes ("wrong map") and is compiled again. In a Linux boot the Cpu's pcLo, pcHi,
// blockEnd, left and instret each did that at a different time, throwing away the run loop,
// the compiled tier's entry and ~60 instruction handlers each time. A double stored while the
// object is being built makes the field a double field before anything is optimized.

/**
 * Makes the named number fields of `target` double fields, keeping their values. Call it in
 * the constructor once the fields exist (every object of the class then shares the map).
 */
export function storeAsDoubles(target: object, fields: readonly string[]): void {
  const record = target as Record<string, unknown>
  for (const field of fields) {
    const value = record[field]
    if (typeof value !== 'number') throw new TypeError(`storeAsDoubles: field ${field} holds ${typeof value}, not a number`)
    record[field] = 0.5
    record[field] = value
  }
}
