// Unknown fields, as the API server finds them (KEP-2885): a field a kind's
// schema does not declare is dropped from what is stored, and the request's
// fieldValidation says what the client hears of it: Strict refuses the
// request, Warn (the default, per the Kubernetes API concepts) answers with a
// Warning header per field, Ignore says nothing. Built-in kinds are described
// by @kubernetes/client-node's generated models (their attribute type maps:
// kubernetes-models' schemas are compiled validators that allow any extra
// property); custom resources by their CRD's openAPIV3Schema, where
// x-kubernetes-preserve-unknown-fields keeps whatever is beneath it.
import * as k8s from '@kubernetes/client-node';

export const FIELD_VALIDATIONS = ['Ignore', 'Strict', 'Warn'] as const;
export type FieldValidation = (typeof FIELD_VALIDATIONS)[number];

/** The directive of a request's fieldValidation parameter; null when the value is not one (the caller answers 422). */
export function fieldValidationOf(param: string | null): FieldValidation | null {
  if (param === null || param === '') return 'Warn';
  return (FIELD_VALIDATIONS as readonly string[]).includes(param) ? (param as FieldValidation) : null;
}

/** What is known of a value: anything, a struct with named fields, a map, or a list. */
export type Shape =
  | { kind: 'any' }
  | { kind: 'struct'; field: (name: string) => Shape | undefined }
  | { kind: 'map'; values: Shape }
  | { kind: 'list'; items: Shape };

const ANY: Shape = { kind: 'any' };

type TypeMap = { baseName: string; type: string }[];
type Model = { getAttributeTypeMap?: () => TypeMap };

/** A client-node model type name (V1Deployment, Array<V1Container>, { [key: string]: string; }) as a shape. */
export function modelShape(type: string): Shape {
  const list = /^Array<(.+)>$/.exec(type);
  if (list) return { kind: 'list', items: modelShape(list[1] as string) };
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return { kind: 'map', values: modelShape(map[1] as string) };
  const attributes = (k8s as unknown as Record<string, Model | undefined>)[type]?.getAttributeTypeMap?.();
  if (!attributes) return ANY; // string, number, boolean, Date, IntOrString, any: leaves
  const byName = new Map(attributes.map((a) => [a.baseName, a.type]));
  return { kind: 'struct', field: (name) => (byName.has(name) ? modelShape(byName.get(name) as string) : undefined) };
}

/** The model of a built-in kind (V1Deployment, V2HorizontalPodAutoscaler, CoreV1Event), or undefined. */
export function builtinShape(group: string, version: string, kind: string): Shape | undefined {
  const v = version.charAt(0).toUpperCase() + version.slice(1);
  const groupPrefix = (group === '' ? 'core' : group.split('.')[0] as string).replace(/^./, (c) => c.toUpperCase());
  for (const name of [`${v}${kind}`, `${groupPrefix}${v}${kind}`]) {
    if ((k8s as unknown as Record<string, Model | undefined>)[name]?.getAttributeTypeMap) return modelShape(name);
  }
  return undefined;
}

type OpenApi = {
  properties?: Record<string, OpenApi>;
  additionalProperties?: OpenApi | boolean;
  items?: OpenApi;
  type?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
};

/** A CRD's structural schema as a shape. */
export function openApiShape(schema: OpenApi): Shape {
  if (schema['x-kubernetes-preserve-unknown-fields'] || schema['x-kubernetes-int-or-string']) return ANY;
  if (schema.type === 'array') return { kind: 'list', items: schema.items ? openApiShape(schema.items) : ANY };
  if (typeof schema.additionalProperties === 'object') return { kind: 'map', values: openApiShape(schema.additionalProperties) };
  if (schema.additionalProperties === true) return ANY;
  if (schema.type === 'object' || schema.properties) {
    const properties = schema.properties ?? {};
    return { kind: 'struct', field: (name) => (Object.hasOwn(properties, name) ? openApiShape(properties[name] as OpenApi) : undefined) };
  }
  return ANY;
}

/** A custom resource: apiVersion, kind and an ObjectMeta metadata whatever its schema says, as the API server has them. */
export function customResourceShape(schema: OpenApi): Shape {
  const body = openApiShape(schema);
  const meta = modelShape('V1ObjectMeta');
  return {
    kind: 'struct',
    field: (name) => (name === 'apiVersion' || name === 'kind' ? ANY : name === 'metadata' ? meta : body.kind === 'struct' ? body.field(name) : body.kind === 'any' ? ANY : undefined),
  };
}

/** One step of a path: a field name, or a list element (its index, and its name when it has one). */
export type Step = string | { index: number; name?: string };

/**
 * The fields of value its shape does not declare, each as its path; removes them from value
 * (a real server stores the object without them).
 */
export function dropUnknownFields(value: unknown, shape: Shape, path: Step[] = []): Step[][] {
  if (value === null || typeof value !== 'object' || shape.kind === 'any') return [];
  if (Array.isArray(value)) {
    if (shape.kind !== 'list') return [];
    return value.flatMap((item, index) => {
      const name = item !== null && typeof item === 'object' && typeof (item as { name?: unknown }).name === 'string' ? (item as { name: string }).name : undefined;
      return dropUnknownFields(item, shape.items, [...path, { index, ...(name !== undefined ? { name } : {}) }]);
    });
  }
  const obj = value as Record<string, unknown>;
  if (shape.kind === 'map') return Object.entries(obj).flatMap(([k, v]) => dropUnknownFields(v, shape.values, [...path, k]));
  if (shape.kind !== 'struct') return [];
  return Object.keys(obj).flatMap((k) => {
    const field = shape.field(k);
    if (field) return dropUnknownFields(obj[k], field, [...path, k]);
    delete obj[k];
    return [[...path, k]];
  });
}

/** As a strict JSON decoding error names it: spec.template.spec.containers[0].imagePullPolic. */
export function decodingPath(path: Step[]): string {
  return path.map((s, i) => (typeof s === 'string' ? `${i === 0 ? '' : '.'}${s}` : `[${s.index}]`)).join('');
}

/** As server-side apply's typed conversion names it: .spec.template.spec.containers[name="web"].imagePullPolic. */
export function applyPath(path: Step[]): string {
  return path.map((s) => (typeof s === 'string' ? `.${s}` : s.name !== undefined ? `[name="${s.name}"]` : `[${s.index}]`)).join('');
}

/** A field given twice in one object of a JSON body (the last one is what a decoder keeps), and the line of its second key. */
export interface Duplicate {
  path: Step[];
  line: number;
}

const JSON_STRING = /"(?:[^"\\]|\\.)*"/y;

/** The duplicate fields of a valid JSON text (JSON.parse keeps the last silently; a strict decoder names them). */
export function duplicateFields(json: string): Duplicate[] {
  const found: Duplicate[] = [];
  let i = 0;
  let line = 1;
  const space = () => {
    for (; i < json.length && ' \t\r\n'.includes(json.charAt(i)); i++) if (json.charAt(i) === '\n') line++;
  };
  const string = (): string => {
    JSON_STRING.lastIndex = i;
    const token = (JSON_STRING.exec(json) as RegExpExecArray)[0];
    i += token.length;
    return JSON.parse(token) as string;
  };
  const value = (path: Step[]): void => {
    space();
    const c = json.charAt(i);
    if (c === '"') {
      string();
    } else if (c === '{' || c === '[') {
      i++;
      const seen = new Set<string>();
      for (let n = 0; ; n++) {
        space();
        if (json.charAt(i) === '}' || json.charAt(i) === ']') break;
        if (c === '{') {
          const at = line;
          const key = string();
          if (seen.has(key)) found.push({ path: [...path, key], line: at });
          seen.add(key);
          space();
          i++; // the colon
          value([...path, key]);
        } else {
          value([...path, { index: n }]);
        }
        space();
        if (json.charAt(i) === ',') i++;
      }
      i++;
    } else {
      while (i < json.length && !',}] \t\r\n'.includes(json.charAt(i))) i++;
    }
  };
  value([]);
  return found;
}
