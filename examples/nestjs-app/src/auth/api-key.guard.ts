import { CanActivate, ExecutionContext, Inject, Injectable, SetMetadata, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { APP_CONFIG } from '../tokens.js';
import type { AppConfig } from '../config.js';

/** The caller, set by {@link ApiKeyGuard}. */
export interface Account {
  customerId: string;
}

export type AuthedRequest = Request & { account?: Account };

const PUBLIC = 'example:public';
/** Marks a route (or controller) that needs no API key. */
export const Public = () => SetMetadata(PUBLIC, true);

/**
 * Bound globally (APP_GUARD): `Authorization: Bearer <key>` or `X-Api-Key: <key>` -> `req.account`,
 * 401 otherwise. Guards run before interceptors, and a 401 is never billed.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
    const customerId = this.config.apiKeys.get(bearer ?? req.get('x-api-key') ?? '');
    if (customerId === undefined) throw new UnauthorizedException('Send a valid API key in Authorization: Bearer <key>.');
    req.account = { customerId };
    return true;
  }
}
