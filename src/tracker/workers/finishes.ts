/**
 * The delete worker's finishes, gathered: its jobs run in parallel
 * (deleteJobs), so their last steps come close together, and one
 * finishDeletedFiles of several fids costs the tracker and the database
 * about what one finishDeletedFile does. No timer: a finish goes at the end
 * of the event loop's turn it came in (with any others of that turn) when
 * none is in flight; those that come while one is in flight wait for it and
 * go together, as the next group.
 */
import type { MetadataStore } from '../../store';

interface Waiting {
  fid: number;
  resolve(went: boolean): void;
  reject(err: unknown): void;
}

export class DeletedFileFinisher {
  private waiting: Waiting[] = [];
  private sending = false;

  constructor(private readonly store: Pick<MetadataStore, 'finishDeletedFiles'>) {}

  /** finishDeletedFile in a group: true when the fid's rows and job went, false when a file row has the fid again. */
  finish(fid: number): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.waiting.push({ fid, resolve, reject });
      if (this.sending) return;
      this.sending = true;
      setImmediate(() => void this.send());
    });
  }

  private async send(): Promise<void> {
    while (this.waiting.length > 0) {
      const group = this.waiting;
      this.waiting = [];
      try {
        const gone = await this.store.finishDeletedFiles(group.map((w) => w.fid));
        for (const w of group) w.resolve(gone.has(w.fid));
      } catch (err) {
        // The whole group failed (one transaction): each job fails as a lone finish would.
        for (const w of group) w.reject(err);
      }
    }
    this.sending = false;
  }
}
