// The Kubernetes API test server's pure parts: which fields a kind does not
// declare (and the paths the server names them by), the fieldValidation
// directive, strategic merge patches, and the names the controllers give.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { podNameSuffix, podTemplateHash } from './support/kube-api/controller-names.js';
import { applyPath, builtinShape, customResourceShape, decodingPath, dropUnknownFields, duplicateFields, fieldValidationOf } from './support/kube-api/field-validation.js';
import { strategicMerge } from './support/kube-api/strategic-merge.js';

const deployment = () => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { 'any/label': 'x' }, annotatons: { a: 'b' } },
  spec: {
    replicass: 2, replicas: 1, selector: { matchLabels: { app: 'web' } },
    strategy: { rollingUpdate: { maxSurge: '25%' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'x', imagePullPolic: 'Always', ports: [{ containerPort: 80 }], resources: { limits: { cpu: '1' } } }] } },
  },
  status: { replicas: 1 },
});

test("unknown fields of a built-in kind, found against client-node's models, removed, named as strict decoding and server-side apply name them", () => {
  const shape = builtinShape('apps', 'v1', 'Deployment');
  assert.ok(shape);
  const obj = deployment();
  const unknown = dropUnknownFields(obj, shape);
  assert.deepEqual(unknown.map(decodingPath), ['metadata.annotatons', 'spec.replicass', 'spec.template.spec.containers[0].imagePullPolic']);
  assert.deepEqual(unknown.map(applyPath), ['.metadata.annotatons', '.spec.replicass', '.spec.template.spec.containers[name="web"].imagePullPolic']);
  assert.deepEqual(dropUnknownFields(obj, shape), [], 'removed: nothing unknown is left');
  assert.equal(obj.spec.replicas, 1, 'known fields kept; map keys (labels, limits) and int-or-string values are not fields');
  assert.equal(builtinShape('', 'v1', 'Event')?.kind, 'struct', 'core/v1 Event is CoreV1Event');
  assert.equal(builtinShape('autoscaling', 'v2', 'HorizontalPodAutoscaler')?.kind, 'struct');
  assert.equal(builtinShape('example.com', 'v1', 'Widget'), undefined);
});

test("a custom resource's unknown fields come from its CRD's schema; x-kubernetes-preserve-unknown-fields keeps what is beneath it; metadata is ObjectMeta", () => {
  const shape = customResourceShape({
    type: 'object',
    properties: { spec: { type: 'object', properties: { size: { type: 'integer' }, extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, tags: { type: 'array', items: { type: 'object', properties: { k: { type: 'string' } } } } } } },
  });
  const obj = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', nmae: 'x' }, spec: { size: 1, colour: 'red', extra: { anything: { goes: true } }, tags: [{ k: 'a', v: 'b' }] }, status: {} };
  assert.deepEqual(dropUnknownFields(obj, shape).map(decodingPath), ['metadata.nmae', 'spec.colour', 'spec.tags[0].v', 'status']);
  assert.deepEqual(obj.spec.extra, { anything: { goes: true } });
  assert.deepEqual(dropUnknownFields({ apiVersion: 'x/v1', kind: 'X', metadata: { name: 'x' }, spec: { a: 1 } }, customResourceShape({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true })), []);
});

test('fieldValidation: Warn when absent or empty (the documented default), the three directives as given, anything else refused', () => {
  assert.equal(fieldValidationOf(null), 'Warn');
  assert.equal(fieldValidationOf(''), 'Warn');
  for (const d of ['Strict', 'Warn', 'Ignore']) assert.equal(fieldValidationOf(d), d);
  assert.equal(fieldValidationOf('strict'), null, 'case matters, as on a real server');
});

test('duplicate fields of a JSON body, with their paths and lines; escaped keys, strings holding braces and nested lists do not confuse it', () => {
  const text = '{"spec":{"replicas":1,"template":{"spec":{"containers":[{"name":"a","name":"b"},{"x":"}\\"{","x":[]}]}},\n"replicas":2},"a\\u0062":1,"ab":2}';
  assert.deepEqual(JSON.parse(text).spec.replicas, 2, 'valid JSON, the last one kept');
  assert.deepEqual(duplicateFields(text).map((d) => [decodingPath(d.path), d.line]), [
    ['spec.template.spec.containers[0].name', 1], ['spec.template.spec.containers[1].x', 1], ['spec.replicas', 2], ['ab', 2],
  ]);
  assert.deepEqual(duplicateFields('[{"a":1},{"a":2}]'), []);
});

test('a strategic merge patch merges named lists by name, deletes with null or $patch: delete, and stores none of its directives', () => {
  const current = { spec: { containers: [{ name: 'a', image: '1', env: [{ name: 'X', value: '1' }] }, { name: 'b', image: '1' }], ports: [{ containerPort: 1 }], keep: 1, drop: 2 } };
  const patch = {
    spec: {
      '$setElementOrder/containers': [{ name: 'a' }, { name: 'b' }],
      containers: [{ name: 'a', image: '2', env: [{ name: 'Y', value: '2' }] }, { name: 'b', $patch: 'delete' }, { name: 'c', image: '3', $retainKeys: ['image'] }],
      ports: [{ containerPort: 2 }],
      drop: null,
    },
  };
  assert.deepEqual(strategicMerge(current, patch), {
    spec: { containers: [{ name: 'a', image: '2', env: [{ name: 'X', value: '1' }, { name: 'Y', value: '2' }] }, { name: 'c', image: '3' }], ports: [{ containerPort: 2 }], keep: 1 },
  });
  assert.deepEqual(strategicMerge({ args: ['a', 'b', 'c'] }, { '$deleteFromPrimitiveList/args': ['b'] }), { args: ['a', 'c'] });
});

test('a pod template hash is the same for the same template whatever its key order, nulls or empty objects, another for another template or collision count, in the safe alphabet', () => {
  const a = { metadata: { labels: { app: 'web', tier: 'x' } }, spec: { containers: [{ name: 'web', image: '1' }] } };
  const reordered = { spec: { containers: [{ image: '1', name: 'web' }] }, metadata: { labels: { tier: 'x', app: 'web' } } };
  assert.equal(podTemplateHash(a), podTemplateHash(reordered));
  const undone = { metadata: { creationTimestamp: null, labels: { app: 'web', tier: 'x' } }, spec: { containers: [{ name: 'web', image: '1', resources: {} }] } };
  assert.equal(podTemplateHash(a), podTemplateHash(undone), 'nulls and empty objects, as kubectl rollout undo sends the template back, change nothing');
  assert.notEqual(podTemplateHash(a), podTemplateHash({ ...a, spec: { containers: [{ name: 'web', image: '2' }] } }));
  assert.notEqual(podTemplateHash(a), podTemplateHash(a, 1));
  assert.match(podTemplateHash(a), /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
  assert.match(podNameSuffix(), /^[bcdfghjklmnpqrstvwxz2456789]{5}$/);
});
