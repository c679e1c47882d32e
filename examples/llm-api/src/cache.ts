/**
 * Answers already computed, by prompt and length: a hit costs the provider nothing, so the API
 * bills nothing for it. Bounded: the oldest entry goes first.
 */
export class CompletionCache {
  private readonly entries = new Map<string, string[]>();

  constructor(private readonly maxEntries = 1_000) {}

  get(prompt: string, maxTokens: number): string[] | undefined {
    return this.entries.get(`${maxTokens}\u0000${prompt}`);
  }

  set(prompt: string, maxTokens: number, tokens: string[]): void {
    this.entries.set(`${maxTokens}\u0000${prompt}`, tokens);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}
