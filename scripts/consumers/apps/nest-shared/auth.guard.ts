// Stands in for the app's own auth guard: the caller's account comes from a header. A global guard
// runs before @Metered()'s, on Express and on Fastify alike.
import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';

@Injectable()
export class AuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined>; user?: { accountId: string } }>();
    const account = req.headers['x-account'];
    if (typeof account === 'string' && account !== '') req.user = { accountId: account };
    return true;
  }
}
