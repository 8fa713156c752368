import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { headers as protocolHeaders, protocolVersion } from '../../control-plane/protocol.js';
import { protocolError, type ProtocolAnswer } from './protocol-errors.js';

/**
 * Reads a request body of at most `limit` bytes. An oversized body is read to its end and
 * discarded before the 413 goes out, so the client sees the answer rather than a reset.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size <= limit) chunks.push(buffer);
  }
  if (size > limit) throw protocolError('invalid_request', `body: larger than ${limit} bytes`, 413);
  return Buffer.concat(chunks);
}

/**
 * How deep a JSON body may nest. JSON.parse takes any depth, but writing such a value out again
 * (a claim answer carrying a stored intent, the admin listing) overflows the stack.
 */
export const maxJsonDepth = 64;

/** The JSON value of a body; `emptyAs` stands in for an empty body when given. */
export function jsonValue(body: Buffer, emptyAs?: unknown): unknown {
  if (body.length === 0 && emptyAs !== undefined) return emptyAs;
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw protocolError('invalid_request', 'body: not valid JSON');
  }
  const tooDeep = fieldNestedTooDeep(value);
  if (tooDeep !== undefined) {
    throw protocolError('invalid_request', `${tooDeep}: nested deeper than ${maxJsonDepth} levels`);
  }
  return value;
}

/** The top-level field under which `value` nests deeper than `maxJsonDepth` (iteratively: any depth). */
function fieldNestedTooDeep(value: unknown): string | undefined {
  const stack: { readonly value: unknown; readonly depth: number; readonly field: string }[] = [
    { value, depth: 0, field: 'body' },
  ];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (typeof next.value !== 'object' || next.value === null) continue;
    if (next.depth >= maxJsonDepth) return next.field;
    for (const [key, inner] of Object.entries(next.value)) {
      stack.push({
        value: inner,
        depth: next.depth + 1,
        field: next.depth === 0 && !Array.isArray(next.value) ? key : next.field,
      });
    }
  }
  return undefined;
}

/** Parses a JSON body with `schema`; the 400 names the first offending field. */
export function parseJson<S extends z.ZodType>(schema: S, body: Buffer, emptyAs?: unknown): z.output<S> {
  return parseValue(schema, jsonValue(body, emptyAs), 'body');
}

export function parseValue<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join('.') : what;
  throw protocolError('invalid_request', `${field}: ${issue?.message ?? 'invalid'}`);
}

export function bearerToken(req: IncomingMessage): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return match?.[1];
}

export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Whether a response can still reach its client. */
export function isWritable(res: ServerResponse): boolean {
  return !res.writableEnded && !res.destroyed && res.socket !== null && !res.socket.destroyed;
}

const commonHeaders = { [protocolHeaders.protocol]: String(protocolVersion), 'cache-control': 'no-store' };

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  extra: Record<string, string> = {},
): void {
  if (!isWritable(res)) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...commonHeaders,
    ...extra,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  if (!isWritable(res)) return;
  res.writeHead(status, commonHeaders);
  res.end();
}

export function sendError(
  res: ServerResponse,
  answer: ProtocolAnswer,
  extra: Record<string, string> = {},
): void {
  sendJson(res, answer.status, { error: { code: answer.code, message: answer.message } }, extra);
}
