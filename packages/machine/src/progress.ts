/**
 * Where a long transfer (snapshot save or restore, migration) reports how far it is, in bytes;
 * the CLI draws it, a browser app would show a bar.
 */
export interface TransferProgress {
  /** The expected total changed (migration rounds find more to send). */
  setTotal(total: number): void
  update(done: number): void
  finish(done: number, note?: string): void
}
