// What an OpenAI `usage` object must satisfy, as a list of what is wrong.

export interface Usage {
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
  total_tokens?: unknown;
  prompt_tokens_details?: { cached_tokens?: unknown } | null;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

export function usageProblems(usage: Usage | null | undefined, maxTokens: number): string[] {
  if (!usage) return ['no usage in the answer'];
  const { prompt_tokens: p, completion_tokens: c, total_tokens: t } = usage;
  if (!isCount(p) || !isCount(c) || !isCount(t)) return [`usage is not three token counts: ${JSON.stringify(usage)}`];
  const problems: string[] = [];
  if (p < 1) problems.push('prompt_tokens is 0');
  if (c < 1 || c > maxTokens) problems.push(`completion_tokens ${c} is outside 1..max_tokens (${maxTokens})`);
  if (t !== p + c) problems.push(`total_tokens ${t} ≠ prompt_tokens ${p} + completion_tokens ${c}`);
  const cached = usage.prompt_tokens_details?.cached_tokens;
  if (cached !== undefined && cached !== null && (!isCount(cached) || cached > p)) problems.push(`cached_tokens ${String(cached)} is not within 0..prompt_tokens (${p})`);
  return problems;
}
