// Prompt text for the suites: deterministic words from a seed, so that two
// prompts share exactly the prefix a case intends and nothing else. Each run
// draws its own nonce, so a run never hits the cache a previous run filled.
import { randomBytes } from 'node:crypto';

const WORDS = ('time year people way day man thing woman life child world school state family student group country '
  + 'problem hand part place case week company system program question work government number night point home water '
  + 'room mother area money story fact month lot right study book eye job word business issue side kind head house '
  + 'service friend father power hour game line end member law car city community name president team minute idea '
  + 'kid body information back parent face others level office door health person art war history party result change '
  + 'morning reason research girl guy moment air teacher force education').split(' ');

function rng(seed: string): () => number {
  let h = 2166136261;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 16777619);
  let x = h >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** n words drawn from the seed; the same seed gives the same words. */
export function words(seed: string, n: number): string {
  const next = rng(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(WORDS[Math.floor(next() * WORDS.length)] as string);
  return out.join(' ');
}

/** A copy of items in an order drawn from the seed. */
export function shuffle<T>(items: T[], seed: string): T[] {
  const next = rng(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

export function runNonce(): string {
  return randomBytes(4).toString('hex');
}
