// What the tests and the merge check need to know of the Kconfig tree:
// each symbol's type, range, dependencies and choice group. kconfig-conf
// does all real Kconfig work; this only reads declarations.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type SymbolType = 'bool' | 'int' | 'string';

export interface KconfigSymbol {
  name: string;
  type: SymbolType;
  /** Has a prompt: users can set it (derived choice strings have none). */
  prompt: boolean;
  range: [number, number] | null;
  dependsOn: string[];
  /** Name of the first member of its choice, when it is a choice member. */
  choice: string | null;
  file: string;
}

export function readKconfigTree(rootFile: string): Map<string, KconfigSymbol> {
  const symbols = new Map<string, KconfigSymbol>();
  const topdir = dirname(rootFile);
  const visit = (file: string, inherited: string[]) => {
    const lines = readFileSync(file, 'utf8').split('\n');
    const ifStack: string[] = [...inherited];
    let current: KconfigSymbol | null = null;
    let choiceMembers: KconfigSymbol[] | null = null;
    let choiceDeps: string[] = [];
    let inChoiceHeader = false;
    for (const raw of lines) {
      const line = raw.trim();
      let m: RegExpExecArray | null;
      if ((m = /^source\s+"(.+)"$/.exec(line)) && m[1]) {
        visit(join(topdir, m[1]), ifStack);
      } else if ((m = /^if\s+(.+)$/.exec(line)) && m[1]) {
        ifStack.push(m[1]);
        current = null;
      } else if (/^endif\b/.test(line)) {
        ifStack.pop();
        current = null;
      } else if (line === 'choice') {
        choiceMembers = [];
        choiceDeps = [];
        inChoiceHeader = true;
        current = null;
      } else if (line === 'endchoice') {
        const first = choiceMembers?.[0]?.name ?? null;
        for (const s of choiceMembers ?? []) s.choice = first;
        choiceMembers = null;
        choiceDeps = [];
        current = null;
      } else if ((m = /^(?:menu)?config\s+([A-Z0-9_]+)$/.exec(line)) && m[1]) {
        inChoiceHeader = false;
        current = { name: m[1], type: 'bool', prompt: false, range: null, dependsOn: [...ifStack, ...choiceDeps], choice: null, file };
        symbols.set(current.name, current);
        choiceMembers?.push(current);
      } else if ((m = /^(bool|int|string)(\s+".*")?$/.exec(line)) && current) {
        current.type = m[1] as SymbolType;
        current.prompt = Boolean(m[2]);
      } else if ((m = /^range\s+(-?\d+)\s+(-?\d+)$/.exec(line)) && current) {
        current.range = [Number(m[1]), Number(m[2])];
      } else if ((m = /^depends on\s+(.+)$/.exec(line)) && m[1]) {
        if (inChoiceHeader) choiceDeps.push(m[1]);
        else current?.dependsOn.push(m[1]);
      } else if (/^(menu|endmenu|mainmenu)\b/.test(line)) {
        current = null;
      }
    }
  };
  visit(rootFile, []);
  return symbols;
}
