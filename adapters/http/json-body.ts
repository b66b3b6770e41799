import type { IncomingMessage } from 'node:http';
import type { FastifyContentTypeParser, FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import { AppError } from '../../src/core/errors.js';

/** Refuse `__proto__` and `constructor.prototype` keys outright (prototype poisoning). */
const PARSE_OPTIONS = { protoAction: 'error', constructorAction: 'error' } as const;

/**
 * Registers the only body parser of the public API: JSON, read with a byte limit and a
 * deadline (slow senders get 408 instead of holding a connection), parsed without
 * prototype pollution. Any other content type is refused by Fastify with 415.
 */
export function registerJsonBody(app: FastifyInstance, limitBytes: number, timeoutMs: number): void {
  app.removeAllContentTypeParsers();
  const parser: FastifyContentTypeParser = (request, payload, done) => {
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > limitBytes) {
      done(tooLarge(limitBytes), undefined);
      return;
    }
    new BodyReader(payload as IncomingMessage, limitBytes, timeoutMs, (err, text) => {
      if (err) return done(err, undefined);
      if (text.trim() === '') {
        // A DELETE may say it sends JSON and send nothing: its parameters can be in the query.
        if (request.method === 'DELETE') return done(null, undefined);
        return done(new AppError('invalid_json', 'The request body is empty'), undefined);
      }
      let body: unknown;
      try {
        body = secureJson.parse(text, undefined, PARSE_OPTIONS);
      } catch {
        return done(new AppError('invalid_json', 'The request body is not valid JSON'), undefined);
      }
      done(null, body);
    });
  };
  app.addContentTypeParser('application/json', { bodyLimit: limitBytes }, parser);
  app.addContentTypeParser(/^application\/[a-z0-9.+-]+\+json$/, { bodyLimit: limitBytes }, parser);
}

function tooLarge(limit: number): AppError {
  return new AppError('payload_too_large', `The request body is larger than ${limit} bytes`, {
    details: { limit_bytes: limit },
  });
}

/**
 * Reads one request body within a byte limit and a deadline, then calls back once: with the text,
 * or with the error to answer with. Callbacks rather than a promise: it runs for every request.
 */
class BodyReader {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private settled = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly stream: IncomingMessage,
    private readonly limit: number,
    timeoutMs: number,
    private readonly callback: (err: Error | null, text: string) => void,
  ) {
    this.timer = setTimeout(onDeadline, timeoutMs, this, timeoutMs);
    stream.on('data', this.onData);
    stream.on('end', this.onEnd);
    stream.on('error', this.onCutOff);
    stream.on('aborted', this.onCutOff);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.size += chunk.length;
    if (this.size > this.limit) this.finish(tooLarge(this.limit));
    else this.chunks.push(chunk);
  };

  private readonly onEnd = (): void => this.finish(null);

  private readonly onCutOff = (): void =>
    this.finish(new AppError('client_closed_request', 'The request body was cut off'));

  /** Settles once: stops listening and calls back. */
  finish(err: Error | null): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    const stream = this.stream;
    stream.off('data', this.onData);
    stream.off('end', this.onEnd);
    stream.off('error', this.onCutOff);
    stream.off('aborted', this.onCutOff);
    if (err) {
      // Stop reading: the response closes the connection, so the rest of the body is never waited for.
      stream.pause();
      this.callback(err, '');
      return;
    }
    const { chunks } = this;
    const text =
      chunks.length === 1
        ? (chunks[0] as Buffer).toString('utf8')
        : Buffer.concat(chunks, this.size).toString('utf8');
    this.callback(null, text);
  }
}

function onDeadline(reader: BodyReader, timeoutMs: number): void {
  reader.finish(new AppError('request_timeout', `The request body did not arrive within ${timeoutMs} ms`));
}
