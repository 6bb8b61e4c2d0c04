/**
 * Where a long transfer (snapshot save or restore, migration) reports how far it is, in bytes;
 * the CLI draws it, a browser app would show a bar.
 */
export interface TransferProgress {
  /** The expected total changed (migration rounds find more to send). */
  setTotal(total: number): void
  /** How far the transfer is, in bytes of the total. */
  update(done: number): void
  /** The transfer is over; `note` says what it moved. */
  finish(done: number, note?: string): void
}
