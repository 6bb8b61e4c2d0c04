// Where the GDB stub listens: QEMU's -gdb forms.

export type GdbEndpoint = { readonly kind: 'tcp'; readonly host: string; readonly port: number } | { readonly kind: 'unix'; readonly path: string }

/** `tcp::PORT`, `tcp:HOST:PORT` or `unix:PATH` (QEMU's -gdb forms); throws RangeError otherwise. */
export function parseGdbEndpoint(text: string): GdbEndpoint {
  const tcp = /^tcp:([^:]*):(\d{1,5})$/.exec(text)
  if (tcp) {
    const port = Number(tcp[2])
    if (port > 65535) throw new RangeError(`'${text}': port ${port} is not 0..65535`)
    return { kind: 'tcp', host: tcp[1] === '' ? '127.0.0.1' : tcp[1]!, port }
  }
  if (text.startsWith('unix:') && text.length > 5) return { kind: 'unix', path: text.slice(5) }
  throw new RangeError(`'${text}' is not tcp::PORT, tcp:HOST:PORT or unix:PATH`)
}

export function describeGdbEndpoint(e: GdbEndpoint): string {
  return e.kind === 'tcp' ? `tcp:${e.host}:${e.port}` : `unix:${e.path}`
}

