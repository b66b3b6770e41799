/**
 * The durable data the agent keeps: per-user memories and Markdown reports. The agent and the
 * chat commands depend on this interface; {@link FileDataStore} keeps it under `DATA_DIR`.
 */

/** A JSON value, as stored in a memory. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** What the agent remembers about one user: a JSON object of its choosing. */
export type MemoryData = { [key: string]: JsonValue };

/** A user's memory with its bookkeeping. */
export interface MemoryRecord {
  readonly userId: string;
  /** 1 for the first write, one more on every update. */
  readonly revision: number;
  /** ISO 8601 time of the last update. */
  readonly updatedAt: string;
  readonly data: MemoryData;
}

/** Computes a user's new memory from the current one (undefined when there is none yet). */
export type MemoryUpdate = (current: MemoryData | undefined) => MemoryData | Promise<MemoryData>;

/** A report to write. */
export interface NewReport {
  /** One line, 1-200 printable characters. */
  readonly title: string;
  /** The user the report was written for (a namespaced user id). */
  readonly author: string;
  /** Markdown. */
  readonly body: string;
  /** Defaults to now. */
  readonly createdAt?: Date;
}

/** A report without its body, as listed. */
export interface ReportSummary {
  /** `YYYYMMDD-HHMMSS-<title slug>-<8 hex>`: a safe file name, sortable by time. */
  readonly id: string;
  readonly title: string;
  readonly author: string;
  /** ISO 8601. */
  readonly createdAt: string;
  /** Size of the stored file. */
  readonly sizeBytes: number;
}

/** A stored report. */
export interface Report extends ReportSummary {
  readonly body: string;
}

/** Options for {@link DataStore.listReports}. */
export interface ListReportsOptions {
  /** Only reports written for this user. */
  readonly author?: string;
  /** At most this many, newest first. Default 50, at most 1000. */
  readonly limit?: number;
}

/** Durable per-user memories and reports. Every write is atomic; memory updates are serialised per user. */
export interface DataStore {
  /** The user's memory, or undefined when nothing is remembered. */
  readMemory(userId: string): Promise<MemoryRecord | undefined>;
  /**
   * Replaces the user's memory with `update(current)`. Updates of one user run one at a time
   * (in this process, and across instances while Redis is up), so none is lost.
   */
  updateMemory(userId: string, update: MemoryUpdate): Promise<MemoryRecord>;
  /** Forgets the user ("forget me"); false when nothing was stored. */
  deleteMemory(userId: string): Promise<boolean>;
  /** Stores a new report and returns its summary (with its id). */
  writeReport(report: NewReport): Promise<ReportSummary>;
  /** The report with this id; undefined for an unknown or malformed id. */
  getReport(id: string): Promise<Report | undefined>;
  /** Reports, newest first. */
  listReports(options?: ListReportsOptions): Promise<ReportSummary[]>;
}

/** A {@link DataStore} the application opens at start (taking its hold on the data folder) and closes at stop. */
export interface ManagedDataStore extends DataStore {
  open(): Promise<void>;
  close(): Promise<void>;
}
