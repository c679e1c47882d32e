import { CUSTOMER_ID_CHARS, hasOnly, REFERENCE_ID_CHARS, SEGMENT_CHARS } from './id-chars.js';

// The regexes these checks replace on the hot path: both must give the same answer on every input.
const RULES = [
  { chars: SEGMENT_CHARS, max: 64, regex: /^[A-Za-z0-9_.-]{1,64}$/ },
  { chars: CUSTOMER_ID_CHARS, max: 128, regex: /^[A-Za-z0-9_.:-]{1,128}$/ },
  { chars: REFERENCE_ID_CHARS, max: 512, regex: /^[A-Za-z0-9_.:~-]{1,512}$/ },
];

describe('hasOnly', () => {
  it('agrees with the regex on every single character (ASCII, Latin-1, beyond)', () => {
    for (const { chars, max, regex } of RULES) {
      for (let c = 0; c < 0x3000; c++) {
        const text = `a${String.fromCharCode(c)}b`;
        expect([c, hasOnly(text, chars, max)]).toEqual([c, regex.test(text)]);
      }
    }
  });

  it('agrees with the regex on lengths around the limit, and on the empty string', () => {
    for (const { chars, max, regex } of RULES) {
      for (const length of [0, 1, max - 1, max, max + 1]) {
        const text = 'x'.repeat(length);
        expect([length, hasOnly(text, chars, max)]).toEqual([length, regex.test(text)]);
      }
    }
  });

  it('agrees with the regex on typical and hostile ids', () => {
    const samples = ['acme', 'cust_1.eu-west:2', 'f3b2c1d0-1234-4abc-8def-0123456789ab', 'a b', 'ü', 'a\nb', 'x~y', 'a:b', '😀', 'a\u0000'];
    for (const { chars, max, regex } of RULES) for (const text of samples) expect([text, hasOnly(text, chars, max)]).toEqual([text, regex.test(text)]);
  });
});
