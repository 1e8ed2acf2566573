// Dotted version numbers as the tools print them (v20.18.1, 570.86.15).

/** True when version a (x.y.z, an optional leading v) is at least b. */
export function atLeast(a: string, b: readonly number[]): boolean {
  const parts = a.replace(/^v/, '').split('.').map(Number);
  for (let i = 0; i < b.length; i++) {
    const x = parts[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}
