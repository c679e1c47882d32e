import { DeadlineQueue } from './deadline-queue.js';

describe('DeadlineQueue', () => {
  it('expires deadlines in the order they were set and never calls a cancelled one', async () => {
    const queue = new DeadlineQueue(10);
    const fired: string[] = [];
    let lastFired!: () => void;
    const last = new Promise<void>((resolve) => (lastFired = resolve));
    queue.add(() => fired.push('a'));
    const b = queue.add(() => fired.push('b'));
    queue.add(() => {
      fired.push('c');
      lastFired();
    });
    b.cancel();
    b.cancel(); // twice is harmless
    expect(queue.pending()).toBe(2);
    await last;
    expect(fired).toEqual(['a', 'c']);
    expect(queue.pending()).toBe(0);
  });

  it('counts only live deadlines and serves new ones after all were cancelled', async () => {
    const queue = new DeadlineQueue(5);
    const many = Array.from({ length: 3000 }, () => queue.add(() => { throw new Error('cancelled deadlines must not fire'); }));
    expect(queue.pending()).toBe(3000);
    for (const deadline of many) deadline.cancel();
    expect(queue.pending()).toBe(0);
    const expired = await new Promise<boolean>((resolve) => queue.add(() => resolve(true)));
    expect(expired).toBe(true);
  });
});
