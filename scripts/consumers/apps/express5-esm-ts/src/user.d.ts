// What the app's auth middleware puts on the request (the declaration a strict project needs for req.user).
declare global {
  namespace Express {
    interface Request {
      user?: { accountId: string };
    }
  }
}
export {};
