import { parseAnswer } from './http-transport.js';
import { IdempotencyConflictError, PacSpaceApiError } from '../errors.js';

const PATH = '/api/v1/balance/delta/batch';

function thrown(status: number, text: string, contentType = 'application/json', headers: Record<string, string> = {}): PacSpaceApiError {
  try {
    parseAnswer(status, { 'content-type': contentType, ...headers }, text, PATH);
  } catch (err) {
    return err as PacSpaceApiError;
  }
  throw new Error(`parseAnswer did not throw for ${status}`);
}

describe("telling PacSpace's error answers from anything else's", () => {
  it.each([
    ['the envelope', { success: false, statusCode: 404, error: { code: 'NOT_FOUND', message: 'No route' }, message: 'No route' }, 'NOT_FOUND'],
    ['the nested error alone', { error: { code: 'CADENCE_LIMIT', message: 'later', customerId: 'acme' } }, 'CADENCE_LIMIT'],
    ['the flat code and message', { code: 'INVALID_API_KEY', message: 'bad key' }, 'INVALID_API_KEY'],
    ['the older statusCode, error and message', { statusCode: 404, error: 'Not Found', message: 'Cannot POST /x' }, 'NOT_FOUND'],
  ])("reads %s as PacSpace's, with its code", (_shape, body, code) => {
    const error = thrown(404, JSON.stringify(body));
    expect(error).toMatchObject({ status: 404, code, pacspaceEnvelope: true });
  });

  it.each([
    ['an HTML page', '<html><body><h1>404 Not Found</h1></body></html>', 'text/html', 'an HTML page'],
    ['plain text', '404 page not found', 'text/plain', 'a text/plain body'],
    ['an empty body', '', 'text/plain', 'an empty body'],
    ["a gateway's JSON", '{"message":"Not Found"}', 'application/json', 'JSON of another shape'],
    ['a JSON array', '[1,2]', 'application/json', 'JSON of another shape'],
    ['text without a content type', 'nope', '', 'a body that is not JSON'],
  ])('reads %s as not PacSpace, saying what it was', (_what, text, contentType, said) => {
    const error = thrown(404, text, contentType);
    expect(error).toMatchObject({ status: 404, code: 'NOT_FOUND', pacspaceEnvelope: false });
    expect(error.message).toContain(said);
    expect(error.message).toContain('not PacSpace');
  });

  it("keeps a proxy's Retry-After, and a 409 in the envelope is an idempotency conflict", () => {
    expect(thrown(503, '<html>busy</html>', 'text/html', { 'retry-after': '7' })).toMatchObject({ retryAfterMs: 7000, pacspaceEnvelope: false });
    expect(thrown(409, JSON.stringify({ error: { code: 'IDEMPOTENCY_CONFLICT', message: 'different body' } }))).toBeInstanceOf(IdempotencyConflictError);
  });

  it('bounds the code and message an upstream sends', () => {
    const error = thrown(400, JSON.stringify({ error: { code: 'C'.repeat(300), message: 'm'.repeat(5_000) } }));
    expect(error.code.length).toBeLessThanOrEqual(64);
    expect(error.message.length).toBeLessThanOrEqual(500);
  });

  it('reads a 2xx as before, and refuses one whose body is not a JSON object', () => {
    expect(parseAnswer(201, {}, JSON.stringify({ success: true, data: { recordId: 'rec_1' } }), PATH)).toMatchObject({ status: 201, data: { recordId: 'rec_1' }, replayed: false, pending: false });
    expect(parseAnswer(201, {}, '', PATH)).toMatchObject({ data: {} });
    for (const text of ['<html>ok</html>', 'null', '"ok"']) expect(() => parseAnswer(200, {}, text, PATH)).toThrow(PacSpaceApiError);
  });
});

