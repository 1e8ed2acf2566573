// vllm-node's Kubernetes commands, for its --help; kept apart so the local
// target does not load the Kubernetes modules.
export const KUBE_COMMANDS_USAGE = `Kubernetes targets also have:
  tool-versions   the installed kubectl, helm and minikube versions, as JSON (bring-up installs the pinned ones)
  check-host      (minikube) docker or podman, kernel, CPUs, memory (and GPU drivers) as configured
  minikube-start  (minikube) minikube start sized as configured, the GPU device plugin when GPUs are asked
On Kubernetes, check asks the cluster (reachable, SelfSubjectAccessReview, GPUs, KEDA) and checks the
release as rendered (every kind served, every pod schedulable on the nodes' room); deploy runs
helm upgrade --install of the node's release, teardown helm uninstall.`;
