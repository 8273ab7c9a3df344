// The panel's thumbnail cache: asks the host for what is on screen, in small
// batches, never twice; tells the grids when thumbnails arrive.

const BATCH = 40;

export class ThumbnailCache {
  private readonly ready = new Map<string, { src?: string; error?: string }>();
  private readonly pending = new Set<string>();
  private readonly listeners = new Set<(files: Set<string>) => void>();

  constructor(private readonly ask: (files: string[]) => void) {}

  get(file: string): { src?: string; error?: string } | undefined {
    return this.ready.get(file);
  }

  /** Requests the files not yet cached or asked for. */
  want(files: string[]): void {
    const missing = files.filter((f) => !this.ready.has(f) && !this.pending.has(f));
    for (let i = 0; i < missing.length; i += BATCH) {
      const batch = missing.slice(i, i + BATCH);
      batch.forEach((f) => this.pending.add(f));
      this.ask(batch);
    }
  }

  receive(items: { file: string; src?: string; error?: string }[]): void {
    const files = new Set<string>();
    for (const item of items) {
      this.pending.delete(item.file);
      this.ready.set(item.file, { src: item.src, error: item.error });
      files.add(item.file);
    }
    for (const l of this.listeners) l(files);
  }

  /** Forgets files whose content may have changed (after a move or rescan). */
  clear(): void {
    this.ready.clear();
    this.pending.clear();
  }

  onReceive(listener: (files: Set<string>) => void): void {
    this.listeners.add(listener);
  }
}
