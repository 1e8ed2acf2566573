// Order statistics as numpy computes them (linear interpolation between the
// closest ranks, numpy's default), so figures match `vllm bench serve`.

/** The p-th percentile (0..100) of values sorted ascending; NaN for none. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = (p / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(n - 1, lo + 1);
  const a = sorted[lo] as number;
  return a + ((sorted[hi] as number) - a) * (rank - lo);
}

export function sortedCopy(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values).sort();
}

export function percentile(values: ArrayLike<number>, p: number): number {
  return percentileSorted(sortedCopy(values), p);
}

export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) return NaN;
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] as number;
  return sum / values.length;
}

/** Population standard deviation (numpy's default, ddof = 0). */
export function std(values: ArrayLike<number>): number {
  if (values.length === 0) return NaN;
  const m = mean(values);
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += ((values[i] as number) - m) ** 2;
  return Math.sqrt(sum / values.length);
}

/**
 * Percentiles of the first n values of a scratch array, reordering it in place
 * (quickselect, linear time): the bootstrap takes thousands of these. Same
 * interpolation as percentileSorted.
 */
export function percentilesInPlace(a: Float64Array, n: number, ps: readonly number[]): number[] {
  if (n === 0) return ps.map(() => NaN);
  return ps.map((p) => {
    const rank = (p / 100) * (n - 1);
    const lo = Math.floor(rank);
    const x = select(a, 0, n - 1, lo);
    if (rank === lo || lo + 1 >= n) return x;
    // The next order statistic is the smallest value right of the selected one.
    let y = Infinity;
    for (let i = lo + 1; i < n; i++) if ((a[i] as number) < y) y = a[i] as number;
    return x + (y - x) * (rank - lo);
  });
}

/** Hoare's selection: puts the k-th smallest of a[left..right] at a[k] and returns it. */
function select(a: Float64Array, left: number, right: number, k: number): number {
  while (right > left) {
    const pivot = a[(left + right) >> 1] as number;
    let i = left;
    let j = right;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i] = a[j] as number;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) right = j;
    else if (k >= i) left = i;
    else return a[k] as number;
  }
  return a[k] as number;
}
