// A stand-in for a language model: deterministic, so the demo and the tests know what a prompt
// costs. Input tokens are the prompt's words; the answer is `maxTokens` words picked from a small
// vocabulary by a hash of the prompt.

const VOCABULARY = ['the', 'meter', 'bills', 'each', 'token', 'once', 'and', 'never', 'twice', 'so', 'every', 'customer', 'pays', 'for', 'what', 'was', 'sent'];

/** The prompt's tokens (its whitespace-separated words). */
export function tokenize(prompt: string): string[] {
  return prompt.split(/\s+/).filter(Boolean);
}

/** The answer to `prompt`: `maxTokens` tokens, the same every time for the same prompt. */
export function complete(prompt: string, maxTokens: number): string[] {
  let hash = 2166136261;
  for (let i = 0; i < prompt.length; i++) hash = Math.imul(hash ^ prompt.charCodeAt(i), 16777619) >>> 0;
  return Array.from({ length: maxTokens }, (_, i) => VOCABULARY[(hash + i * 7) % VOCABULARY.length]!);
}
