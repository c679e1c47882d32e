import { EventEmitter } from 'node:events';
import type { ExecutionContext } from '@nestjs/common';
import type { DeltaInput, Meter } from '@pacspace-metering/core';

/**
 * A stand-in for Nest's ExecutionContext, for the enhancer's unit specs: the handler, its class,
 * the context type and the argument list, nothing else (the units read no more).
 */
export function fakeContext(cls: Function, handler: Function, type: 'http' | 'rpc' | 'ws', args: unknown[]): ExecutionContext {
  return {
    getClass: () => cls,
    getHandler: () => handler,
    getType: () => type,
    getArgs: () => args,
    getArgByIndex: (index: number) => args[index],
    switchToHttp: () => ({ getRequest: () => args[0], getResponse: () => args[1], getNext: () => args[2] }),
    switchToRpc: () => ({ getData: () => args[0], getContext: () => args[1] }),
    switchToWs: () => ({ getClient: () => args[0], getData: () => args[1], getPattern: () => args[2] }),
  } as unknown as ExecutionContext;
}

/** A raw response as the HTTP adapter sees it: headers, a status, and the `close` event. */
export class FakeResponse extends EventEmitter {
  statusCode = 200;
  writableFinished = false;
  writableEnded = false;
  destroyed = false;
  socket = null;
  readonly headers = new Map<string, string>();
  locals: Record<string | symbol, unknown> = {};
  setHeader(name: string, value: string): void {
    this.headers.set(name, value);
  }
  /** The response fully written, then closed: what a billable call looks like. */
  finish(status = this.statusCode): void {
    this.statusCode = status;
    this.writableEnded = true;
    this.writableFinished = true;
    this.emit('close');
  }
  /** The connection closed before the response was written: the client went away. */
  abort(): void {
    this.emit('close');
  }
}

/** The Meter at the billing call's edge: records what it was asked to enqueue or refuse. */
export function recordingMeter(scope = 'spec'): Meter & { enqueued: DeltaInput[]; refused: Array<{ field: string; context?: unknown }> } {
  const enqueued: DeltaInput[] = [];
  const refused: Array<{ field: string; context?: unknown }> = [];
  return {
    scope,
    durable: false,
    enqueued,
    refused,
    enqueue(input: DeltaInput) {
      enqueued.push(input);
      return { accepted: true, referenceId: `${scope}:${input.reason}:${input.customerId}:${input.requestId}` };
    },
    refuse(error: { field: string }, context?: unknown) {
      refused.push({ field: error.field, context });
    },
  } as unknown as Meter & { enqueued: DeltaInput[]; refused: Array<{ field: string; context?: unknown }> };
}
