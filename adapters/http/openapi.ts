import { ERROR_CODES } from '../../src/core/errors.js';
import { VERSION } from '../../src/version.js';
import { chatBodySchema } from './chat-route.js';
import { forgetInputSchema } from './user-data-route.js';

const problem = {
  type: 'object',
  required: ['type', 'title', 'status', 'code', 'detail'],
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    code: { type: 'string', enum: Object.keys(ERROR_CODES) },
    detail: { type: 'string' },
  },
};

const rateLimitHeaders = {
  'RateLimit-Policy': {
    schema: { type: 'string' },
    description: 'IETF httpapi draft: "default";q=<points>;w=<seconds>',
  },
  RateLimit: {
    schema: { type: 'string' },
    description: 'IETF httpapi draft: "default";r=<remaining>;t=<seconds to reset>',
  },
  'X-RateLimit-Limit': { schema: { type: 'integer' } },
  'X-RateLimit-Remaining': { schema: { type: 'integer' } },
  'X-RateLimit-Reset': { schema: { type: 'integer' }, description: 'Seconds until the window resets' },
};

function errorResponse(description: string, extraHeaders: Record<string, unknown> = {}) {
  return {
    description,
    headers: { ...rateLimitHeaders, ...extraHeaders },
    content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
  };
}

/** The OpenAPI 3.1 document of the public HTTP API, served at `GET /v1/openapi.json`. */
export function openApiDocument(maxChars: number) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'real-estate-ai HTTP chat API',
      version: VERSION,
      description:
        'Talk to the real-estate assistant over HTTP. Errors are RFC 9457 problem documents with a stable code.',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
      schemas: {
        ChatRequest: chatBodySchema(maxChars),
        ChatReply: {
          type: 'object',
          required: ['reply', 'conversation_id', 'trace_id', 'cached'],
          properties: {
            reply: { type: 'string' },
            conversation_id: { type: 'string' },
            trace_id: { type: 'string', format: 'uuid' },
            cached: { type: 'boolean' },
          },
        },
        ForgetRequest: forgetInputSchema,
        ForgetReply: {
          type: 'object',
          required: ['user_id', 'memory_deleted', 'conversations_deleted'],
          properties: {
            user_id: { type: 'string', description: 'The user_id given (or "default")' },
            memory_deleted: {
              type: 'boolean',
              description: 'True when remembered facts existed and were deleted',
            },
            conversations_deleted: {
              type: 'integer',
              description: 'Conversations whose recent turns were deleted',
            },
          },
        },
        Problem: problem,
      },
    },
    security: [{ bearer: [] }, { apiKeyHeader: [] }],
    paths: {
      '/v1/chat': {
        post: {
          summary: 'Send a message to the assistant',
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              schema: { type: 'string', maxLength: 255 },
              description:
                'A retried request with the same key and body gets the first answer, not a second run',
            },
          ],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/ChatRequest' } } },
          },
          responses: {
            '200': {
              description:
                'The answer (JSON), or with `Accept: text/event-stream` server-sent events: `token` frames, then `done` with the same body, or `error` with a problem',
              headers: rateLimitHeaders,
              content: {
                'application/json': { schema: { $ref: '#/components/schemas/ChatReply' } },
                'text/event-stream': { schema: { type: 'string' } },
              },
            },
            '400': errorResponse('Malformed JSON, schema violation, bad header or an API key in the URL'),
            '401': errorResponse('Missing or unknown API key'),
            '408': errorResponse('The body did not arrive in time'),
            '409': errorResponse('A request with this Idempotency-Key is still in progress'),
            '413': errorResponse('Body too large'),
            '415': errorResponse('Content type is not application/json'),
            '422': errorResponse('The Idempotency-Key was used with a different request'),
            '429': errorResponse(
              "Rate limited (`rate_limited`), or the user spent today's token budget (`token_budget_exhausted`, LLM_USER_DAILY_TOKENS; Retry-After runs to the next UTC midnight)",
              { 'Retry-After': { schema: { type: 'integer' } } },
            ),
            '503': errorResponse('No language model configured, overloaded or shutting down'),
            '504': errorResponse('The assistant did not answer in time'),
          },
        },
      },
      '/v1/users/me/memory': {
        delete: {
          summary: '"Forget me": delete what the assistant remembers about a user, and their conversations',
          description:
            'The user is `http:<API key name>:<user_id>`, exactly as in POST /v1/chat: `user_id` comes from ' +
            'the query (`?user_id=`) or a JSON body `{"user_id": "..."}` (the same value if both), and is ' +
            '`default` when neither gives one. A key only ever reaches its own users. Deletes the remembered ' +
            'facts and every conversation of that user; saved reports are kept. The chat command ' +
            '`/realty-forget` does the same from any platform.',
          parameters: [
            {
              name: 'user_id',
              in: 'query',
              required: false,
              schema: forgetInputSchema.properties.user_id,
            },
          ],
          requestBody: {
            required: false,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/ForgetRequest' } } },
          },
          responses: {
            '200': {
              description: 'What was deleted',
              headers: rateLimitHeaders,
              content: { 'application/json': { schema: { $ref: '#/components/schemas/ForgetReply' } } },
            },
            '400': errorResponse('Malformed JSON, a bad user_id, or different user_ids in query and body'),
            '401': errorResponse('Missing or unknown API key'),
            '408': errorResponse('The body did not arrive in time'),
            '413': errorResponse('Body too large'),
            '415': errorResponse('A body that is not JSON'),
            '429': errorResponse('Rate limited', { 'Retry-After': { schema: { type: 'integer' } } }),
            '503': errorResponse(
              'Redis is unreachable (`redis_unavailable`): the remembered facts were deleted but the ' +
                'conversation history is still kept; send the request again',
            ),
          },
        },
      },
    },
  };
}
