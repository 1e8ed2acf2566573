// What the API server refuses before storing an object, as 422 Invalid:
// names that are not DNS labels or subdomains, and objects that fail their
// kind's schema (kubernetes-models for built-in kinds and the custom resources
// it models; any other custom resource against its CustomResourceDefinition's
// openAPIV3Schema, with ajv).
import { Ajv, type ValidateFunction } from 'ajv';
import { hasSchemaModels, validateObject } from '../kube-models.js';
import type { ResourceType } from './resources.js';
import { ApiError } from './status.js';
import type { KubeObject } from './store.js';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Kinds whose names must be DNS labels (RFC 1123), not just subdomains. */
const LABEL_NAMED = new Set(['Namespace', 'Service', 'Pod']);

const ajv = new Ajv({ strict: false, allErrors: true });
const crdValidators = new WeakMap<object, ValidateFunction>();

function invalid(type: ResourceType, name: string, detail: string): ApiError {
  return new ApiError(422, 'Invalid', `${type.kind}.${type.group || 'core'} "${name}" is invalid: ${detail}`);
}

export async function admit(type: ResourceType, obj: KubeObject): Promise<void> {
  const name = obj.metadata.name;
  const labelNamed = LABEL_NAMED.has(type.kind);
  if (name.length > (labelNamed ? 63 : 253) || !(labelNamed ? DNS_LABEL : DNS_SUBDOMAIN).test(name)) {
    throw invalid(type, name, `metadata.name: Invalid value: "${name}": a lowercase RFC 1123 ${labelNamed ? 'label' : 'subdomain'} must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`);
  }
  if (type.schema && !hasSchemaModels(type.apiVersion)) {
    let validate = crdValidators.get(type.schema);
    if (!validate) crdValidators.set(type.schema, (validate = ajv.compile(type.schema)));
    if (!validate(obj)) throw invalid(type, name, ajv.errorsText(validate.errors, { dataVar: '' }));
    return;
  }
  try {
    await validateObject({ ...obj, apiVersion: type.apiVersion, kind: type.kind });
  } catch (err) {
    throw invalid(type, name, (err as Error).message);
  }
}
