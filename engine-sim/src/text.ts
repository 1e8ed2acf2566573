// Deterministic output text: the same seed and prompt give the same words,
// so that runs can be compared token for token.
import { seededRandom } from './latency.js';
import { pieceId } from './tokenizer.js';

const WORDS = ('the of and to in is that for it as was with be by on not he this are or his from at which but have an they ' +
  'you were her she there been one all we their has would when if so no will can more about said up out what some into ' +
  'model engine cache token prefix block route serve stream request answer latency batch queue memory vector').split(' ');

export interface Generated {
  tokens: string[];
  finishReason: 'stop' | 'length';
}

/**
 * `limit` tokens of text; without ignoreEos the "model" may emit its end of
 * sequence earlier, at a length drawn from the seed (finish_reason "stop").
 */
export function generate(seed: number, prompt: string, limit: number, ignoreEos: boolean, echo: string | null): Generated {
  if (echo !== null) {
    const words = echo.split(/\s+/).filter(Boolean);
    const out = words.slice(0, limit).map((w, i) => (i === 0 ? w : ` ${w}`));
    return { tokens: out.length > 0 ? out : [''], finishReason: words.length <= limit ? 'stop' : 'length' };
  }
  const random = seededRandom(seed ^ pieceId(prompt.slice(-256)));
  const length = ignoreEos ? limit : Math.max(1, Math.min(limit, Math.ceil(limit * (0.5 + random() / 2))));
  const tokens: string[] = [];
  for (let i = 0; i < length; i++) tokens.push(` ${WORDS[Math.floor(random() * WORDS.length)] as string}`);
  return { tokens, finishReason: length < limit ? 'stop' : 'length' };
}
