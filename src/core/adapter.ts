/** What `/health` shows for a platform adapter. */
export interface AdapterStatus {
  /** `off` (no credentials), `starting`, `listening`/`connected`, `failing`, `stopped`, `no_api_keys`. */
  readonly status: string;
  readonly detail?: string;
}

/**
 * A chat platform plugged into the core. Adapters translate their traffic into
 * `InboundMessage`s for the pipeline and send `Reply`s back; they own their SDK clients.
 */
export interface PlatformAdapter {
  readonly name: string;
  /** Connects or starts listening; resolves when traffic can flow. */
  start(): Promise<void>;
  /** Stops taking new traffic and lets in-flight work finish (the caller bounds the wait). */
  stop(): Promise<void>;
  status(): AdapterStatus;
}
