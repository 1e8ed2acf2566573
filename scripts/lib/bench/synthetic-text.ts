// Deterministic filler text for benchmark prompts: plain lower-case words, so
// that a word is one token to the simulator's tokenizer and about one to a
// real one. The same seed gives the same text on baseline and dev.
import type { Random } from '../random.js';

const WORDS = (
  'time year people way day man thing woman life child world school state family student group country problem hand '
  + 'part place case week company system program question work government number night point home water room mother '
  + 'area money story fact month lot right study book eye job word business issue side kind head house service friend '
  + 'father power hour game line end member law car city community name president team minute idea kid body '
  + 'information back parent face others level office door health person art war history party result change morning '
  + 'reason research girl guy moment air teacher force education foot boy age policy music market sense nation plan '
  + 'college interest death experience effect use class control care field development role effort rate heart drug '
  + 'show leader light voice wife police mind price report decision son view relationship town road arm difference '
  + 'value building action model season society tax director position player record paper space ground form event '
  + 'official matter center couple site project activity star table need court oil situation cost industry figure '
  + 'street image phone data picture practice piece land product doctor wall patient worker news test movie north'
).split(' ');

/** n words drawn from the generator, separated by single spaces. */
export function words(rng: Random, n: number): string {
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = WORDS[rng.int(WORDS.length)] as string;
  return out.join(' ');
}
