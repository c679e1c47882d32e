import type { IncomingMessage } from 'node:http';
import { SandboxConfigError } from './config-error.js';
import { errorReply, reply, validationError, type Reply } from './envelope.js';
import { readJson } from './http-io.js';
import { overview } from './overview.js';
import { topUp } from './top-up.js';
import type { SandboxState } from './state.js';

const OVERVIEW_DEFAULT = 200;
const OVERVIEW_MAX = 1000;

/** `/_sandbox/*`: read the ledger, switch faults, top up a customer, reset, and the page's overview. Key required. */
export async function controlRoute(state: SandboxState, req: IncomingMessage, method: string, name: string, query: URLSearchParams): Promise<Reply> {
  if (method === 'GET' && name === 'ledger') return reply({ status: 200, data: state.ledger.snapshot(), outcome: 'read' });
  if (method === 'GET' && name === 'overview') {
    const limitText = query.get('limit');
    const limit = limitText === null ? OVERVIEW_DEFAULT : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > OVERVIEW_MAX) return validationError('limit', `limit must be an integer from 1 to ${OVERVIEW_MAX}`);
    return reply({ status: 200, data: overview(state.ledger, state.faults.current(), state.pace, limit, Date.now()), outcome: 'read' });
  }
  if (name === 'faults' && method === 'GET') return reply({ status: 200, data: { faults: state.faults.current() }, outcome: 'read' });
  if (name === 'faults' && method === 'PUT') {
    const parsed = await readJson(req, state.maxBodyBytes);
    if ('reply' in parsed) return parsed.reply;
    try {
      return reply({ status: 200, data: { faults: state.setFaults(parsed.body) }, outcome: 'read' });
    } catch (err) {
      if (err instanceof SandboxConfigError) return validationError(err.field, err.message);
      throw err;
    }
  }
  if (method === 'POST' && name === 'top-up') {
    const parsed = await readJson(req, state.maxBodyBytes);
    if ('reply' in parsed) return parsed.reply;
    try {
      return reply({ status: 201, data: topUp(state.ledger, parsed.body, Date.now()), outcome: 'read' });
    } catch (err) {
      if (err instanceof SandboxConfigError) return validationError(err.field.replace(/^topUp\./, ''), err.message);
      throw err;
    }
  }
  if (method === 'POST' && name === 'reset') {
    state.reset();
    return reply({ status: 200, data: { reset: true }, outcome: 'read' });
  }
  return errorReply(404, 'NOT_FOUND', `No control route ${method} /_sandbox/${name}; there are GET ledger, GET overview, GET|PUT faults, POST top-up, POST reset`, 'not-found');
}
