import type { StatementStream } from './statement';

/**
 * A channel's statement for one day, as its module fetched it: ready to parse, not there yet, or refused.
 * Nothing here names a channel; each channel module's `statements` source produces it.
 */
export type StatementDownload =
  | {
      outcome: 'ready';
      /** The file as it came, integrity already checked where the channel gives a digest. */
      file: StatementFile;
      /** Parses the file (once). */
      parse(): StatementStream;
      /** Removes what the download left on disk; the caller calls it when done, parsed or not. */
      dispose(): Promise<void>;
    }
  /**
   * The channel has no file for the day yet (Alipay isp.bill_not_exist, WeChat STATEMENT_CREATING /
   * NO_STATEMENT_EXIST): retry later. The channels use the same answer for "a day without business", so only the
   * local books can tell the two apart.
   */
  | { outcome: 'notReady'; code: string; reason: string }
  /** Refused or failed: `code` is the channel's own (sub_code / error code), or NO_ANSWER when none was verified. */
  | { outcome: 'error'; code: string; reason: string };

/** Alipay: a zip in a temp file; WeChat: the bill's decompressed bytes. */
export type StatementFile = { kind: 'path'; path: string } | { kind: 'bytes'; bytes: Uint8Array };

/** `day` is yyyy-MM-dd, the channel's day (Beijing). */
export interface StatementSource<A> {
  download(account: A, day: string, signal?: AbortSignal): Promise<StatementDownload>;
}
