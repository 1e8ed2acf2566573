# Kubernetes targets (minikube, existing clusters): what the production-stack
# chart would receive, and the cluster's monitoring. Logic lives in scripts/.

vllm-render: extra_vars.yaml hosts $(BUILD_STAMP) ## Helm values + rendered manifests per node under <work dir>/<node>/helm/; touches no cluster
	$(Q)node dist/scripts/vllm-render.js

.PHONY: vllm-render
