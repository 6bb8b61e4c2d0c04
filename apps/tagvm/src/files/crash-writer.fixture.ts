// Child process for files.test.ts: starts replacing a snapshot with a large one, slowly,
// and says so on stdout; the test kills it with SIGKILL half-way.
import { saveSnapshotFile } from './snapshot-file.js'

const path = process.argv[2]!
let announced = false
saveSnapshotFile(path, (enc) => {
  enc.writeConfig({ ramBase: 0x4000_0000, ramSize: 256 << 20, cpus: 1, mte: true, backing: 'anon' })
  enc.writeVcpu({ index: 0, regs: [] })
  for (let i = 0; i < 65536; i++) {
    const data = new Uint8Array(4096).fill((i % 255) + 1)
    enc.writePage({ gpa: 0x4000_0000 + i * 4096, data, tags: new Uint8Array(256).fill(i % 16) })
    if (i % 256 === 255) {
      if (!announced) {
        process.stdout.write('writing\n')
        announced = true
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20)
    }
  }
  enc.end()
})
process.stdout.write('finished\n')
