// What the router reads from a body: the nesting bound, multipart's model
// field, and the prompt text prefix-aware routing matches on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FormData, Response } from 'undici';
import { isMultipart, MAX_JSON_DEPTH, nestedDeeperThan, parseForm, parseJsonBody, promptOf } from '../src/front/request-body.js';

test('nesting is measured outside strings, and only bodies with enough brackets are scanned at all', () => {
  const nest = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  assert.equal(nestedDeeperThan(Buffer.from(`{"a":${nest(MAX_JSON_DEPTH - 1)}}`), MAX_JSON_DEPTH), false, 'exactly the limit');
  assert.equal(nestedDeeperThan(Buffer.from(`{"a":${nest(MAX_JSON_DEPTH)}}`), MAX_JSON_DEPTH), true, 'one deeper');
  assert.equal(nestedDeeperThan(Buffer.from(JSON.stringify({ prompt: '['.repeat(10_000) })), MAX_JSON_DEPTH), false, 'brackets in a string do not nest');
  assert.equal(nestedDeeperThan(Buffer.from(JSON.stringify({ prompt: '\\"[[[', x: [[1]] })), 3), false, 'an escaped quote does not end the string');
  assert.throws(() => parseJsonBody(Buffer.from(nest(200))), /nested deeper than 128 levels/);
  assert.throws(() => parseJsonBody(Buffer.from('[1]')), /must be a JSON object/);
  assert.deepEqual(parseJsonBody(Buffer.from('{"model":"m"}')), { model: 'm' });
});

test('a multipart upload is routed by its model field, and an alias is rewritten in the form', async () => {
  const form = new FormData();
  form.set('model', 'whisper');
  form.set('file', new Blob([Buffer.from('RIFF....')], { type: 'audio/wav' }), 'a.wav');
  const encoded = new Response(form);
  const raw = Buffer.from(await encoded.arrayBuffer());
  const parsed = await parseForm(raw, encoded.headers.get('content-type')!);
  assert.equal(parsed.model, 'whisper');
  assert.ok(isMultipart(encoded.headers.get('content-type')) && isMultipart('Multipart/Form-Data; boundary=x'));
  assert.ok(!isMultipart('application/json') && !isMultipart('multipart/mixed; boundary=x') && !isMultipart(null));
  const rewritten = await parsed.withModel('openai/whisper-large-v3');
  const again = await parseForm(rewritten.payload, rewritten.contentType);
  assert.equal(again.model, 'openai/whisper-large-v3');
  await assert.rejects(parseForm(Buffer.from('not a form'), 'multipart/form-data; boundary=x'), /cannot be read/);
});

test('the prompt text of each API shape, in the order the engine sees it', () => {
  assert.equal(promptOf({ messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image_url' }] }] }), 'sys\nhi');
  assert.equal(promptOf({ prompt: 'once' }), 'once');
  assert.equal(promptOf({ prompt: ['a', 'b'] }), 'a\nb');
  assert.equal(promptOf({ system: 'anthropic system', messages: [{ role: 'user', content: 'q' }] }), 'anthropic system\nq');
  assert.equal(promptOf({ instructions: 'be brief', input: [{ role: 'user', content: [{ type: 'input_text', text: 'q' }] }] }), 'be brief\nq');
  assert.equal(promptOf({ input: 'plain' }), 'plain');
});
