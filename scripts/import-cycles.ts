// Finds value import cycles between modules, from an esbuild metafile: esbuild drops
// type-only imports, so what it records is exactly what runs. Used by package tests that
// bundle their entry (esbuild is the caller's dependency, passed in as its metafile).

/** The part of esbuild's metafile this reads. */
export interface Metafile {
  readonly inputs: Readonly<Record<string, { readonly imports: readonly { readonly path: string }[] }>>
}

/**
 * Every cycle of value imports among the inputs whose path passes `within` (each cycle as the
 * modules on it, starting from its first in sorted order); empty when there is none.
 */
export function valueImportCycles(metafile: Metafile, within: (path: string) => boolean): string[][] {
  const nodes = Object.keys(metafile.inputs).filter(within).sort()
  const edges = new Map(nodes.map((n) => [n, metafile.inputs[n]!.imports.map((i) => i.path).filter((p) => within(p) && p in metafile.inputs)]))
  // Tarjan's strongly connected components: a component of more than one module, or a module
  // importing itself, is a cycle.
  let counter = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const cycles: string[][] = []
  const visit = (n: string): void => {
    index.set(n, counter)
    low.set(n, counter++)
    stack.push(n)
    onStack.add(n)
    for (const m of edges.get(n) ?? []) {
      if (!index.has(m)) {
        visit(m)
        low.set(n, Math.min(low.get(n)!, low.get(m)!))
      } else if (onStack.has(m)) {
        low.set(n, Math.min(low.get(n)!, index.get(m)!))
      }
    }
    if (low.get(n) !== index.get(n)) return
    const component: string[] = []
    let m: string
    do {
      m = stack.pop()!
      onStack.delete(m)
      component.push(m)
    } while (m !== n)
    if (component.length > 1 || (edges.get(n) ?? []).includes(n)) cycles.push(component.sort())
  }
  for (const n of nodes) if (!index.has(n)) visit(n)
  return cycles
}
