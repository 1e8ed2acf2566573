// The names of what the production-stack chart creates for a node, as its
// templates spell them (vllm-stack 0.1.12), so the deploy, KubeStack and
// status find the objects the values produce. One release per node.
export interface ReleaseNames {
  release: string;
  namespace: string;
  /** servingEngineSpec.modelSpec[].name */
  model: string;
  /** The engine Deployment of a node whose engines are colocated. */
  engineDeployment: string;
  /** With disaggregated prefill: the prefill and decode modelSpecs' names, their pods' `model` label (the router's pool labels). */
  pdModels: { prefill: string; decode: string };
  engineService: string;
  routerDeployment: string;
  routerService: string;
  /** The Secret the deploy creates for the API key and HF token (values only reference it). */
  secrets: string;
  /** The Secret holding the generated Grafana admin password. */
  grafanaAdmin: string;
  scaledObject: string;
  /** servingEngineSpec.labels: the router discovers its engines with exactly these. */
  engineLabels: Record<string, string>;
  routerLabels: Record<string, string>;
}

/** A DNS label from the model id's last component: facebook/opt-125m -> opt-125m. */
export function modelSpecName(modelUrl: string): string {
  const last = modelUrl.replace(/\/+$/, '').split('/').at(-1) ?? '';
  const name = last.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '').slice(0, 30).replace(/-$/, '');
  return /^[a-z]/.test(name) ? name : `m-${name}`.replace(/-$/, '');
}

/** The chart's name for a modelSpec's engine Deployment. */
export const modelDeployment = (release: string, model: string) => `${release}-${model}-deployment-vllm`;

export function releaseNames(releasePrefix: string, role: string, namespace: string, modelUrl: string): ReleaseNames {
  const release = `${releasePrefix}-${role}`;
  const model = modelSpecName(modelUrl);
  return {
    release,
    namespace,
    model,
    engineDeployment: modelDeployment(release, model),
    pdModels: { prefill: `${model}-prefill`, decode: `${model}-decode` },
    engineService: `${release}-${model}-engine-service`,
    routerDeployment: `${release}-deployment-router`,
    routerService: `${release}-router-service`,
    secrets: `${release}-harness-secrets`,
    grafanaAdmin: `${release}-grafana-admin`,
    scaledObject: `${release}-${model}-scaledobject`,
    engineLabels: { environment: 'engine', release },
    routerLabels: { environment: 'router', release },
  };
}

/** Every name the chart derives must fit a DNS label (63) and Helm's release limit (53). */
export function nameProblems(n: ReleaseNames): string[] {
  const problems: string[] = [];
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(n.release) || n.release.length > 53) {
    problems.push(`release name "${n.release}" must be lower-case letters, digits and '-', at most 53 characters`);
  }
  // The engine pods' hostname is <release>-<model>-vllm-stack: a DNS label.
  for (const name of [n.engineService, `${n.release}-${n.model}-vllm-stack`]) {
    if (name.length > 63) problems.push(`"${name}" is longer than the 63 characters of a DNS label; shorten the release name`);
  }
  return problems;
}
