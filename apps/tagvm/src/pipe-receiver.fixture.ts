// Child process for endpoint.test.ts: the destination of a migration over inherited pipes
// (stream in on fd 3, ACK out on fd 4); prints what it received on stdout.
import { MigrationReceiver, ackRecord } from '@tagvm/machine'
import { parseEndpoint } from './cli-args.js'
import { listenEndpoint } from './endpoint.js'

const channel = await listenEndpoint(parseEndpoint('fd:3'))
let pages = 0
const receiver = new MigrationReceiver('fd:3', { pages: (b) => (pages += b.count) })
channel.onData((bytes) => {
  receiver.push(bytes)
  if (receiver.complete) {
    void channel.write(ackRecord(true)).then(() => {
      process.stdout.write(`received ${pages} pages\n`)
      void channel.close()
    })
  }
})
channel.onEnd(() => {
  if (!receiver.complete) {
    try {
      receiver.finish()
    } catch (e) {
      process.stdout.write(`refused: ${(e as Error).message}\n`)
      process.exitCode = 1
    }
  }
})
