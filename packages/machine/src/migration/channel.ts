import { errorBrand } from '../errors.js'

/**
 * A byte channel both ways, as a migration needs it (the stream one way, the ACK back): a Unix
 * socket or a pair of pipes in the CLI, a MessagePort or an in-memory pair in a browser.
 */
export interface Channel {
  /** Resolves once the bytes are handed on; rejects when the channel has failed. */
  write(bytes: Uint8Array): Promise<void>
  /**
   * Optional: several chunks handed on together, in order (one gathered write on a socket).
   * The chunks are not copied: they must stay unchanged until the promise settles.
   */
  writev?(chunks: readonly Uint8Array[]): Promise<void>
  /**
   * Called with each chunk the other side sends, in order. The chunk is valid during the call
   * only: a channel may read the next bytes into the same memory.
   */
  onData(listener: (bytes: Uint8Array) => void): void
  /**
   * Optional: the channel reads into memory its reader chooses. Before each read (from the
   * one after this call on) it asks `next` where to, and hands onData's listeners a view of
   * that memory from its start, as long as the read filled. A stream decoder gives the free
   * space after the record it is receiving, so the bytes land where they are decoded.
   */
  readInto?(next: () => Uint8Array): void
  /** Called once, when the other side has ended (no error) or the channel failed. */
  onEnd(listener: (error?: Error) => void): void
  /** Ends this side; resolves once everything written has been handed on and the channel is shut. */
  close(): Promise<void>
}

const CHANNEL = errorBrand('ChannelError')

/** The channel broke (closed early, a socket error): the migration cannot go on over it. Test for it with {@link isChannelError}. */
export class ChannelError extends Error {
  override readonly name = 'ChannelError'
  constructor(message: string, options?: { readonly cause?: unknown }) {
    super(message, options)
    CHANNEL.mark(this)
  }
}

/** Whether `value` is a {@link ChannelError} made by any copy of this package. */
export function isChannelError(value: unknown): value is ChannelError {
  return CHANNEL.test(value)
}

/**
 * Two connected in-memory channels (what one side writes the other receives, in order, on a
 * later turn of the event loop): migration between two machines in one process or worker.
 */
export function channelPair(): [Channel, Channel] {
  const make = (): {
    channel: Channel
    deliver: (bytes: Uint8Array) => void
    end: () => void
    peer: { deliver: (bytes: Uint8Array) => void; end: () => void } | undefined
  } => {
    const dataListeners: ((bytes: Uint8Array) => void)[] = []
    const endListeners: ((error?: Error) => void)[] = []
    let ended = false
    let closed = false
    const side = {
      peer: undefined as { deliver: (bytes: Uint8Array) => void; end: () => void } | undefined,
      deliver: (bytes: Uint8Array): void => {
        if (!ended) for (const l of dataListeners) l(bytes)
      },
      end: (): void => {
        if (ended) return
        ended = true
        for (const l of endListeners) l()
      },
      channel: {
        write: (bytes: Uint8Array): Promise<void> => {
          if (closed) return Promise.reject(new ChannelError('write after close'))
          const copy = bytes.slice()
          return Promise.resolve().then(() => side.peer!.deliver(copy))
        },
        onData: (listener: (bytes: Uint8Array) => void): void => void dataListeners.push(listener),
        onEnd: (listener: (error?: Error) => void): void => void endListeners.push(listener),
        close: (): Promise<void> => {
          if (closed) return Promise.resolve()
          closed = true
          // After every write already queued, as a socket's FIN follows its data.
          return Promise.resolve().then(() => {
            side.peer!.end()
            side.end()
          })
        },
      },
    }
    return side
  }
  const a = make()
  const b = make()
  a.peer = b
  b.peer = a
  return [a.channel, b.channel]
}
