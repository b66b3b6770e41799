import type { IncomingMessage } from 'node:http';
import type { FastifyContentTypeParser, FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import { AppError } from '../../src/core/errors.js';

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
    readBody(payload as IncomingMessage, limitBytes, timeoutMs).then(
      (text) => {
        if (text.trim() === '') {
          // A DELETE may say it sends JSON and send nothing: its parameters can be in the query.
          if (request.method === 'DELETE') return done(null, undefined);
          return done(new AppError('invalid_json', 'The request body is empty'), undefined);
        }
        try {
          done(null, secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' }));
        } catch {
          done(new AppError('invalid_json', 'The request body is not valid JSON'), undefined);
        }
      },
      (err: Error) => done(err, undefined),
    );
  };
  app.addContentTypeParser('application/json', { bodyLimit: limitBytes }, parser);
  app.addContentTypeParser(/^application\/[a-z0-9.+-]+\+json$/, { bodyLimit: limitBytes }, parser);
}

function tooLarge(limit: number): AppError {
  return new AppError('payload_too_large', `The request body is larger than ${limit} bytes`, {
    details: { limit_bytes: limit },
  });
}

function readBody(stream: IncomingMessage, limit: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (err: Error | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('aborted', onAborted);
      if (err) {
        // Stop reading: the response closes the connection, so the rest of the body is never waited for.
        stream.pause();
        reject(err);
      } else resolve(Buffer.concat(chunks, size).toString('utf8'));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) finish(tooLarge(limit));
      else chunks.push(chunk);
    };
    const onEnd = () => finish(null);
    const onError = () => finish(new AppError('client_closed_request', 'The request body was cut off'));
    const onAborted = () => finish(new AppError('client_closed_request', 'The request body was cut off'));
    const timer = setTimeout(
      () => finish(new AppError('request_timeout', `The request body did not arrive within ${timeoutMs} ms`)),
      timeoutMs,
    );
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('aborted', onAborted);
  });
}
