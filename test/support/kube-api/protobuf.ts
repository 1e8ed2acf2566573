// The Kubernetes protobuf encoding, as far as helm sends it: client-go's typed
// clients (helm's release storage) write core objects as
// application/vnd.kubernetes.protobuf, and a real API server accepts that.
// Decoded here: the envelope (magic "k8s\0" + runtime.Unknown) and a Secret
// with its ObjectMeta's strings and maps, the whole of a helm release record
// (https://kubernetes.io/docs/reference/using-api/api-concepts/#protobuf-encoding;
// field numbers from k8s.io/api/core/v1/generated.proto and
// k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto). Answers are JSON,
// which client-go also accepts.
import { ApiError } from './status.js';

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Field = { no: number; wire: number; value: bigint | Buffer };

function* fields(buf: Buffer): Generator<Field> {
  let i = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (i >= buf.length) throw new ApiError(400, 'BadRequest', 'truncated protobuf body');
      const b = buf[i++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (i < buf.length) {
    const tag = Number(varint());
    const no = tag >> 3;
    const wire = tag & 7;
    if (wire === 0) yield { no, wire, value: varint() };
    else if (wire === 2) {
      const len = Number(varint());
      yield { no, wire, value: buf.subarray(i, i + len) };
      i += len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw new ApiError(400, 'BadRequest', `protobuf wire type ${wire} is not supported`);
  }
}

const str = (v: bigint | Buffer) => (v as Buffer).toString('utf8');

function mapEntry(buf: Buffer): [string, Buffer] {
  let k = '';
  let v: Buffer = Buffer.alloc(0);
  for (const f of fields(buf)) {
    if (f.no === 1) k = str(f.value);
    if (f.no === 2) v = f.value as Buffer;
  }
  return [k, v];
}

function objectMeta(buf: Buffer): Record<string, unknown> {
  const meta: Record<string, unknown> = {};
  const names: Record<number, string> = { 1: 'name', 2: 'generateName', 3: 'namespace', 5: 'uid', 6: 'resourceVersion' };
  for (const f of fields(buf)) {
    const name = names[f.no];
    if (name) meta[name] = str(f.value);
    else if (f.no === 11 || f.no === 12) {
      const key = f.no === 11 ? 'labels' : 'annotations';
      const [k, v] = mapEntry(f.value as Buffer);
      meta[key] = { ...(meta[key] as object | undefined), [k]: v.toString('utf8') };
    }
  }
  return meta;
}

function secret(buf: Buffer): Record<string, unknown> {
  const obj: Record<string, unknown> = { apiVersion: 'v1', kind: 'Secret', metadata: {} };
  for (const f of fields(buf)) {
    if (f.no === 1) obj.metadata = objectMeta(f.value as Buffer);
    else if (f.no === 2 || f.no === 4) {
      const key = f.no === 2 ? 'data' : 'stringData';
      const [k, v] = mapEntry(f.value as Buffer);
      obj[key] = { ...(obj[key] as object | undefined), [k]: f.no === 2 ? v.toString('base64') : v.toString('utf8') };
    } else if (f.no === 3) obj.type = str(f.value);
    else if (f.no === 5) obj.immutable = f.value !== 0n;
  }
  return obj;
}

/** A protobuf request body as the JSON object it encodes; only Secrets (and DeleteOptions, read as none) are known. */
export function decodeProtobuf(body: Buffer): unknown {
  if (!body.subarray(0, 4).equals(MAGIC)) throw new ApiError(400, 'BadRequest', 'a protobuf body must start with the k8s magic number');
  let apiVersion = '';
  let kind = '';
  let raw: Buffer = Buffer.alloc(0);
  for (const f of fields(body.subarray(4))) {
    if (f.no === 1) for (const t of fields(f.value as Buffer)) {
      if (t.no === 1) apiVersion = str(t.value);
      if (t.no === 2) kind = str(t.value);
    }
    if (f.no === 2) raw = f.value as Buffer;
  }
  if (kind === 'Secret' && apiVersion === 'v1') return secret(raw);
  if (kind === 'DeleteOptions') return undefined;
  throw new ApiError(415, 'UnsupportedMediaType', `this server decodes protobuf only for Secrets, not ${apiVersion} ${kind}; send JSON`);
}
