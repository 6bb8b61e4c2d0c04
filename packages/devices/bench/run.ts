// Prints PL011 throughput as a guest console sees it: bytes per second through UARTDR writes
// (with a FR poll before each, as a polling driver does) and through receive + UARTDR reads.
import { MmioBus, PL011, Pl011, writeMmio } from '../src/index.js'

function measure(label: string, bytes: number, run: () => void): void {
  run() // warm up
  const start = process.hrtime.bigint()
  run()
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  console.log(`${label}: ${(bytes / seconds / 1e6).toFixed(1)} MB/s (${bytes} bytes in ${(seconds * 1000).toFixed(1)} ms)`)
}

const N = 2_000_000
let sink = 0
const uart = new Pl011({ output: (b) => void (sink += b) })
writeMmio(uart, PL011.CR, 4, 0x301)
const bus = new MmioBus()
bus.add(0x0900_0000, 0x1000, uart)

// The exit buffers a VMM reuses, as KVM's run page.
const word = new Uint8Array(4)
const byte = new Uint8Array(1)
measure('transmit (FR poll + DR write, via the bus)', N, () => {
  for (let i = 0; i < N; i++) {
    bus.read(0x0900_0018, word)
    byte[0] = i & 0xff
    bus.write(0x0900_0000, byte)
  }
})

writeMmio(uart, PL011.LCR_H, 4, 0x70)
const chunk = new Uint8Array(16).fill(0x61)
measure('receive (16-byte chunks, FR poll + DR read)', N, () => {
  for (let i = 0; i < N; i += 16) {
    uart.receive(chunk)
    for (;;) {
      uart.read(PL011.FR, word)
      if (word[0]! & 0x10) break
      uart.read(PL011.DR, word)
      sink += word[0]!
    }
  }
})
if (sink === 0) console.log('(unexpected: nothing moved)')
