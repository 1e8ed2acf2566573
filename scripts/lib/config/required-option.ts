// An option the configuration must have where it is read: absent means
// .config and the code disagree, and the message says what to run.

/** A reader of required options for one purpose ("the benchmark", "this deployment"). */
export function requiredOption<V>(neededBy: string): <K extends keyof V>(v: V, key: K) => NonNullable<V[K]> {
  return (v, key) => {
    const value = v[key];
    if (value === undefined || value === null) {
      throw new Error(`CONFIG_${String(key).replace(/^vllm_/, 'VLLM_').toUpperCase()} is missing from extra_vars.yaml although ${neededBy} needs it; run make olddefconfig`);
    }
    return value as NonNullable<typeof value>;
  };
}
