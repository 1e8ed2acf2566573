// Deletion of an object that carries finalizers, as the API server does it
// (https://kubernetes.io/docs/concepts/overview/working-with-objects/finalizers/):
// DELETE sets metadata.deletionTimestamp (and deletionGracePeriodSeconds: 0)
// and keeps the object, a MODIFIED event; a repeated DELETE returns it as it
// is; an update can neither clear the deletionTimestamp nor add a finalizer
// (422); the update that leaves metadata.finalizers empty removes it (its
// DELETED event, no MODIFIED before).
import { ApiError } from './status.js';
import type { KubeObject, ObjectStore } from './store.js';

export const finalizersOf = (obj: KubeObject): string[] => (obj.metadata.finalizers as string[] | undefined) ?? [];

/** Whether a delete must keep the object, terminating, until its finalizers are removed. */
export const mustWait = (obj: KubeObject): boolean => finalizersOf(obj).length > 0;

/** Marks an object as being deleted (once; a repeated delete changes nothing) and returns it as stored. */
export function markDeleting(store: ObjectStore, resource: string, obj: KubeObject): KubeObject {
  if (obj.metadata.deletionTimestamp) return obj;
  obj.metadata.deletionTimestamp = new Date().toISOString();
  obj.metadata.deletionGracePeriodSeconds = 0;
  return store.write(resource, obj);
}

/**
 * Applies the rules for an update of `current` into `next` (changed in place): a deletionTimestamp
 * stays as it was, and no finalizer may be added once it is set. True when the update leaves a
 * terminating object without finalizers: it is to be removed instead of written.
 */
export function checkUpdate(what: string, current: KubeObject, next: KubeObject): boolean {
  const { deletionTimestamp, deletionGracePeriodSeconds } = current.metadata;
  if (!deletionTimestamp) return false;
  next.metadata.deletionTimestamp = deletionTimestamp;
  if (deletionGracePeriodSeconds !== undefined) next.metadata.deletionGracePeriodSeconds = deletionGracePeriodSeconds;
  const had = new Set(finalizersOf(current));
  const added = finalizersOf(next).filter((f) => !had.has(f));
  if (added.length > 0) {
    throw new ApiError(422, 'Invalid', `${what} is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`);
  }
  return finalizersOf(next).length === 0;
}
