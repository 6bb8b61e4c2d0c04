// The Web Worker that runs the machine: messages in, reports out. All logic is in runner.ts.
import type { Command } from './protocol.js'
import { MachineRunner } from './runner.js'

// A zero-delay macrotask (setTimeout clamps nested calls to 4 ms): the guest runs in slices
// and the page's messages get their turn between them.
const tasks: (() => void)[] = []
const channel = new MessageChannel()
channel.port1.onmessage = () => tasks.shift()?.()

const runner = new MachineRunner({
  post: (report, transfer) => self.postMessage(report, { transfer: transfer ?? [] }),
  schedule: (task) => {
    tasks.push(task)
    channel.port2.postMessage(null)
  },
})

self.onmessage = (event: MessageEvent<Command>) => runner.handle(event.data)
