# The container image of the router and the engine simulator (containers/).

vllm-images: $(BUILD_STAMP) ## build the router + simulator image (docker or podman) with the configured names; minikube image load on minikube targets
	$(Q)node dist/scripts/vllm-images.js

.PHONY: vllm-images
