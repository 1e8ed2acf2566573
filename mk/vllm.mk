# The vLLM workflow: bring-up, deploy + smoke + results, quick test, status,
# teardown. Every target calls Ansible or a tool under scripts/; no logic here.

# vllm_topdir: this directory as make sees it, even when playbooks/ is a symlink.
VLLM_PLAYBOOK := ansible-playbook -i hosts --extra-vars=@extra_vars.yaml --extra-vars=vllm_topdir=$(CURDIR)
VLLM_TOOL := node dist/scripts
# Bring-up is needed again only when the configuration changed.
VLLM_BRINGUP_STAMP := .bringup.done
VLLM_INPUTS := extra_vars.yaml hosts $(BUILD_STAMP)

$(VLLM_BRINGUP_STAMP): $(VLLM_INPUTS)
	$(Q)$(VLLM_PLAYBOOK) playbooks/bringup.yml
	$(Q)touch $@

bringup: $(VLLM_INPUTS) ## check and prepare the node(s): tools present, work dirs, ports free
	$(Q)$(VLLM_PLAYBOOK) playbooks/bringup.yml
	$(Q)touch $(VLLM_BRINGUP_STAMP)

vllm: $(VLLM_BRINGUP_STAMP) ## deploy -> smoke test -> results on every node (runs bringup when needed)
	$(Q)$(VLLM_PLAYBOOK) playbooks/vllm.yml

vllm-quick-test: $(VLLM_INPUTS) ## one completion + one streamed chat through each node's router, timed
	$(Q)$(VLLM_PLAYBOOK) playbooks/vllm.yml --tags quick-test

vllm-status: $(VLLM_INPUTS) ## everything known about the deployment, per node (live)
	$(Q)$(VLLM_TOOL)/vllm-status.js

vllm-status-simplified: $(VLLM_INPUTS) ## short emoji summary with next-step hints
	$(Q)$(VLLM_TOOL)/vllm-status.js --simplified

vllm-monitor: $(VLLM_INPUTS) ## Prometheus address of every node, checked live (targets up, alerts); exit 1 if one does not answer
	$(Q)$(VLLM_TOOL)/vllm-monitor.js

vllm-teardown: $(VLLM_INPUTS) ## stop engines, router and Prometheus on every node; results stay
	$(Q)$(VLLM_PLAYBOOK) playbooks/vllm.yml --tags teardown

vllm-cleanup: $(VLLM_INPUTS) ## teardown, then remove the nodes' work dirs; results stay
	$(Q)$(VLLM_PLAYBOOK) playbooks/vllm.yml --tags cleanup
	$(Q)rm -f $(VLLM_BRINGUP_STAMP)

.PHONY: bringup vllm vllm-quick-test vllm-status vllm-status-simplified vllm-monitor vllm-teardown vllm-cleanup
