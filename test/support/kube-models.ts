// Offline validation of Kubernetes objects against the API's schemas
// (kubernetes-models, plus the KEDA and prometheus-operator custom resources
// the chart renders). An object of a kind without a model is an error, so a
// manifest can never pass unchecked. Each kind's model is loaded on first use:
// a whole API group costs seconds to import.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { referenceChartDir } from './reference.js';

type Model = new (data: object) => { validate(): void };

/**
 * The OpenAPI formats CRD schemas name (int32, date-time, …), known to ajv so that it does not warn of each on
 * compiling; their values are not checked beyond their JSON type, as the API server checks few of them.
 */
export const OPENAPI_FORMATS = Object.fromEntries(['int32', 'int64', 'float', 'double', 'byte', 'binary', 'date', 'date-time', 'duration', 'password', 'uri', 'email', 'hostname', 'ipv4', 'ipv6', 'uuid', 'int-or-string', 'quantity'].map((f) => [f, true as const]));

/** The chart's own custom resources, checked against the openAPIV3Schema of its CRD (crds/ of the reference chart). */
const CHART_CRDS: Record<string, string> = { 'production-stack.vllm.ai/v1alpha1/LoraAdapter': 'crd-lora-adapter.yaml' };

function crdModel(file: string, kind: string): Model {
  const dir = referenceChartDir();
  if (dir === null) throw new Error(`no reference chart beside the project to read crds/${file} from`);
  const crd = parse(readFileSync(join(dir, 'crds', file), 'utf8')) as { spec: { versions: { schema: { openAPIV3Schema: object } }[] } };
  const check = new Ajv({ strict: false, allErrors: true, formats: OPENAPI_FORMATS }).compile(crd.spec.versions[0]?.schema.openAPIV3Schema ?? {});
  return class {
    constructor(private readonly data: object) {}
    validate(): void {
      if (!check(this.data)) throw new Error(`${kind}: ${check.errors?.map((e) => `${e.instancePath} ${e.message}`).join('; ')}`);
    }
  };
}

const PACKAGES: Record<string, string> = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'rbac.authorization.k8s.io/v1': 'kubernetes-models/rbac.authorization.k8s.io/v1',
  'policy/v1': 'kubernetes-models/policy/v1',
  'autoscaling/v2': 'kubernetes-models/autoscaling/v2',
  'networking.k8s.io/v1': 'kubernetes-models/networking.k8s.io/v1',
  'coordination.k8s.io/v1': 'kubernetes-models/coordination.k8s.io/v1',
  'apiextensions.k8s.io/v1': 'kubernetes-models/apiextensions.k8s.io/v1',
  'keda.sh/v1alpha1': '@kubernetes-models/keda/keda.sh/v1alpha1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
};

export interface KubeDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

const models = new Map<string, Promise<Model>>();

/** Whether kind's group version has models here (custom resources without one are checked against their CRD's schema). */
export function hasSchemaModels(apiVersion: string): boolean {
  return PACKAGES[apiVersion] !== undefined;
}

function model(apiVersion: string, kind: string): Promise<Model> {
  const key = `${apiVersion}/${kind}`;
  let m = models.get(key);
  const crd = CHART_CRDS[key];
  if (!m && crd) {
    m = Promise.resolve().then(() => crdModel(crd, kind));
    models.set(key, m);
  }
  if (!m) {
    const pkg = PACKAGES[apiVersion];
    if (!pkg || !/^[A-Za-z]+$/.test(kind)) return Promise.reject(new Error(`no schema model for ${apiVersion} ${kind}; add its group to test/support/kube-models.ts`));
    m = (import(`${pkg}/${kind}`) as Promise<Record<string, Model>>).then((mod) => {
      const found = mod[kind];
      if (!found) throw new Error(`${pkg} has no model ${kind}`);
      return found;
    }, () => { throw new Error(`no schema model for ${apiVersion} ${kind} in ${pkg}`); });
    models.set(key, m);
  }
  return m;
}

/** Rejects, naming the object, when it does not validate against its API schema. */
export async function validateObject(obj: KubeDoc): Promise<void> {
  const Model = await model(obj.apiVersion, obj.kind);
  try {
    new Model(obj).validate();
  } catch (err) {
    throw new Error(`${obj.kind} ${obj.metadata.name} does not validate: ${(err as Error).message}`);
  }
}
