// A deterministic stand-in tokenizer: words and punctuation marks are the
// pieces, each hashed (FNV-1a) to an id below the vocabulary size, so equal
// text always gives equal tokens, and a longer prompt gives more of them.
const PIECE = /[A-Za-z0-9_]+|[^\sA-Za-z0-9_]/g;
export const VOCAB_SIZE = 50_272;

export function pieceId(piece: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < piece.length; i++) {
    h ^= piece.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h % (VOCAB_SIZE - 4)) + 4;
}

export function tokenize(text: string): number[] {
  const ids: number[] = [];
  for (const m of text.matchAll(PIECE)) ids.push(pieceId(m[0]));
  return ids;
}

export interface ChatMessage {
  role: string;
  content: string | { type: string; text?: string }[] | null;
}

export function messageText(content: ChatMessage['content']): string {
  if (content === null) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => (part.type === 'text' ? part.text ?? '' : '')).join('');
}

/** The prompt a chat becomes, as a chat template would lay it out. */
export function chatPrompt(messages: ChatMessage[]): string {
  return messages.map((m) => `<|${m.role}|>\n${messageText(m.content)}\n`).join('') + '<|assistant|>\n';
}
