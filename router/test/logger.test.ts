// Log lines: a value a client chose stays one field of one line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Logger, textValue } from '../src/logger.js';

test('text logs quote any value that could pass for another field or line; plain values stay as they are', () => {
  assert.equal(textValue('0b9f-req-1'), '0b9f-req-1');
  assert.equal(textValue('a status=500'), '"a status=500"');
  assert.equal(textValue('x\nINFO forged'), '"x\\nINFO forged"');
  assert.equal(textValue('say "hi"'), '"say \\"hi\\""');
  assert.equal(textValue(''), '""');
  assert.equal(textValue(12), '12');
  const lines: string[] = [];
  new Logger('text', 'info', (l) => lines.push(l)).log('info', 'request', { id: 'x\r\nINFO request id=forged', status: 200 });
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.split('\n').length, 2, 'one line, ended by its newline');
});

test('levels: warn hides info, critical hides errors', () => {
  const lines: string[] = [];
  const warn = new Logger('json', 'warn', (l) => lines.push(l));
  warn.log('info', 'hidden');
  warn.log('warn', 'shown');
  const critical = new Logger('json', 'critical', (l) => lines.push(l));
  critical.log('error', 'hidden');
  assert.deepEqual(lines.map((l) => JSON.parse(l).message), ['shown']);
});
