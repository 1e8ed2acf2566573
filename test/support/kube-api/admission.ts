// What the API server refuses before storing an object: fields its kind does
// not declare (400 or a warning, by the request's fieldValidation; see
// field-validation.ts), then, as 422 Invalid, names that are not DNS labels or
// subdomains and objects that fail their kind's schema (kubernetes-models for
// built-in kinds and the custom resources it models; any other custom
// resource against its CustomResourceDefinition's openAPIV3Schema, with ajv).
import { Ajv, type ValidateFunction } from 'ajv';
import { hasSchemaModels, OPENAPI_FORMATS, validateObject } from '../kube-models.js';
import { applyPath, builtinShape, customResourceShape, decodingPath, dropUnknownFields, type Duplicate, type FieldValidation, type Shape } from './field-validation.js';
import type { ResourceType } from './resources.js';
import { ApiError } from './status.js';
import type { KubeObject } from './store.js';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** Kinds whose names must be DNS labels (RFC 1123), not just subdomains. */
const LABEL_NAMED = new Set(['Namespace', 'Service', 'Pod']);

const ajv = new Ajv({ strict: false, allErrors: true, formats: OPENAPI_FORMATS });
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

/** How an object arrived: its fieldValidation directive, and the kind of write (server-side apply reports unknown fields its own way). */
export interface FieldCheck {
  directive: FieldValidation;
  write: 'create' | 'update' | 'patch' | 'apply';
  /** Fields its JSON body gave twice (duplicateFields). */
  duplicates?: Duplicate[];
}

const shapes = new WeakMap<object, Shape>();

function shapeOf(type: ResourceType): Shape | undefined {
  if (!type.schema) return builtinShape(type.group, type.version, type.kind);
  let shape = shapes.get(type.schema);
  if (!shape) shapes.set(type.schema, (shape = customResourceShape(type.schema)));
  return shape;
}

/**
 * Drops the fields obj's kind does not declare, as the API server does before storing; returns
 * the Warning header values to answer with (Warn), or throws what the server answers: with
 * Strict, 400 naming each unknown or duplicate field; for a server-side apply, whatever the
 * directive, the error of its typed conversion (a 500 without a reason on Kubernetes up to 1.35:
 * kubernetes#139253), and for its duplicates the error of the strict YAML decoding it runs after.
 */
export function dropUnknownFieldsOf(type: ResourceType, obj: KubeObject, check: FieldCheck): string[] {
  const shape = shapeOf(type);
  const unknown = shape ? dropUnknownFields(obj, shape) : [];
  const duplicates = check.duplicates ?? [];
  if (unknown.length === 0 && duplicates.length === 0) return [];
  if (check.write === 'apply' && unknown.length > 0) {
    const errors = unknown.map((p) => `${applyPath(p)}: field not declared in schema`);
    const gvk = `${type.group}/${type.version}, Kind=${type.kind}`;
    throw new ApiError(500, '', `failed to create typed patch object (${obj.metadata.namespace ?? ''}/${obj.metadata.name}; ${gvk}): ${errors.length === 1 ? errors[0] : `errors:\n  ${errors.join('\n  ')}`}`);
  }
  if (check.write === 'apply') {
    const yaml = `error converting YAML to JSON: yaml: unmarshal errors:\n${duplicates.map((d) => `  line ${d.line}: key ${JSON.stringify(d.path.at(-1))} already set in map`).join('\n')}`;
    if (check.directive === 'Strict') throw new ApiError(400, 'BadRequest', `error strict decoding YAML: ${yaml}`);
    return check.directive === 'Warn' ? [`299 - ${JSON.stringify(yaml)}`] : [];
  }
  const fields = [...duplicates.map((d) => `duplicate field "${decodingPath(d.path)}"`), ...unknown.map((p) => `unknown field "${decodingPath(p)}"`)];
  if (check.directive === 'Strict') {
    const strict = `strict decoding error: ${fields.join(', ')}`;
    throw new ApiError(400, 'BadRequest', check.write === 'patch' ? strict : `${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: ${strict}`);
  }
  return check.directive === 'Warn' ? fields.map((f) => `299 - ${JSON.stringify(f)}`) : [];
}
