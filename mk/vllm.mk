# The vLLM workflow: bring-up, deploy + smoke + suites + benchmark + results,
# the suites again, quick test, status, compare, reports, teardown. Every
# target calls Ansible or a tool under scripts/; no logic here.

VLLM_TOOL := node dist/scripts
# ansible-playbook through scripts/vllm-playbook.ts: it holds the lock of every
# node it works on for the whole command (a second command is refused, naming
# this one, "make <the goals typed>") and picks the nodes (--nodes
# configured|deployed|all). Recursive (=): expanded in each recipe.
VLLM_PLAYBOOK = $(VLLM_TOOL)/vllm-playbook.js --as 'make $(or $(MAKECMDGOALS),$@)'
# Declared hosts run the node-side tools from a bundle built here
# (scripts/vllm-bundle.ts) and shipped by bring-up; every command passes its
# hash, so a node left behind by a controller change refuses to run.
# vllm_node_dir is in extra_vars.yaml only when declared hosts are set.
VLLM_BUNDLE := .build-bundle/vllm-node.tar.gz
VLLM_BUNDLE_INPUTS := $(BUILD_STAMP) package-lock.json $(shell find schemas observability -type f 2>/dev/null)
VLLM_DECLARED := $(shell grep -s -l '^vllm_node_dir:' extra_vars.yaml)
# Bring-up is needed again only when the configuration (or the bundle) changed.
VLLM_BRINGUP_STAMP := .bringup.done
VLLM_INPUTS := extra_vars.yaml hosts $(BUILD_STAMP) $(if $(VLLM_DECLARED),$(VLLM_BUNDLE))
# Commands that work from what is deployed also run without a .config; with
# one, they see it up to date.
VLLM_CONFIG_IF_ANY := $(if $(wildcard .config),extra_vars.yaml hosts) $(BUILD_STAMP) $(if $(VLLM_DECLARED),$(VLLM_BUNDLE))

$(VLLM_BUNDLE): $(VLLM_BUNDLE_INPUTS)
	$(Q)$(VLLM_TOOL)/vllm-bundle.js --out $@
# Shows each node's benchmark progress, and the suites' progress on this
# machine's nodes, while Ansible waits for the step.
VLLM_WATCH := $(VLLM_TOOL)/vllm-bench-watch.js -- $(VLLM_TOOL)/vllm-watch.js --extra-vars extra_vars.yaml --
# SUITES=routing,faults: just these suites instead of the enabled ones.
VLLM_SUITES_ARG := $(if $(SUITES),--extra-vars vllm_test_suites=$(SUITES))

$(VLLM_BRINGUP_STAMP): $(VLLM_INPUTS)
	$(Q)$(VLLM_PLAYBOOK) playbooks/bringup.yml
	$(Q)touch $@

bringup: $(VLLM_INPUTS) ## check and prepare the node(s): tools present, work dirs, ports free; declared hosts provisioned over SSH
	$(Q)$(VLLM_PLAYBOOK) playbooks/bringup.yml
	$(Q)touch $(VLLM_BRINGUP_STAMP)

vllm: $(VLLM_BRINGUP_STAMP) ## deploy -> smoke test -> suites -> benchmark -> results on every node (runs bringup when needed)
	$(Q)$(VLLM_WATCH) $(VLLM_PLAYBOOK) --replace-unconfigured playbooks/vllm.yml $(VLLM_SUITES_ARG)

vllm-test: $(VLLM_INPUTS) ## the enabled test suites (or SUITES=api,routing,...) against the deployed stacks, as a new run
	$(Q)$(VLLM_WATCH) $(VLLM_PLAYBOOK) playbooks/vllm.yml --tags test $(VLLM_SUITES_ARG)

.PHONY: vllm-benchmark vllm-compare vllm-results vllm-visualize-results
vllm-benchmark: $(VLLM_INPUTS) ## benchmark the deployed stacks (baseline and dev together) into a new run
	$(Q)$(VLLM_WATCH) $(VLLM_PLAYBOOK) playbooks/vllm.yml --tags benchmark,results

vllm-compare: $(VLLM_INPUTS) ## A/B: baseline vs dev of the latest run; one node: its latest run vs the previous one; or BASE=<run>[:<node>] DEV=<run>[:<node>]; exit 1 on regression
	$(Q)$(VLLM_TOOL)/vllm-compare.js --base '$(BASE)' --dev '$(DEV)'

vllm-results: $(VLLM_INPUTS) ## each node's newest run: steps, suites, every benchmark figure (JSON: node dist/scripts/vllm-results.js show --json)
	$(Q)$(VLLM_TOOL)/vllm-results.js show

vllm-visualize-results: $(VLLM_INPUTS) ## results/<run-id>/report.html: charts and verdicts of the latest run (or RUN=<run-id>)
	$(Q)$(VLLM_TOOL)/vllm-visualize.js --run '$(RUN)'

vllm-quick-test: $(VLLM_CONFIG_IF_ANY) ## one completion + one streamed chat through each deployed node's router, timed
	$(Q)$(VLLM_PLAYBOOK) --nodes deployed playbooks/vllm.yml --tags quick-test

vllm-status: $(VLLM_CONFIG_IF_ANY) ## everything known about the deployment, per node (live)
	$(Q)$(VLLM_TOOL)/vllm-status.js

vllm-status-simplified: $(VLLM_CONFIG_IF_ANY) ## short emoji summary with next-step hints
	$(Q)$(VLLM_TOOL)/vllm-status.js --simplified

vllm-monitor: $(VLLM_INPUTS) ## Prometheus address of every node, checked live (targets up, alerts); exit 1 if one does not answer
	$(Q)$(VLLM_TOOL)/vllm-monitor.js

vllm-teardown: $(VLLM_CONFIG_IF_ANY) ## stop what runs on every deployed node (whatever .config says now); results stay
	$(Q)$(VLLM_PLAYBOOK) --nodes deployed --none-ok playbooks/vllm.yml --tags teardown

vllm-cleanup: $(VLLM_CONFIG_IF_ANY) ## teardown, then remove the nodes' work dirs (and a declared host's whole node dir); results stay
	$(Q)$(VLLM_PLAYBOOK) --nodes all --none-ok playbooks/vllm.yml --tags cleanup
	$(Q)rm -f $(VLLM_BRINGUP_STAMP)

.PHONY: bringup vllm vllm-test vllm-quick-test vllm-status vllm-status-simplified vllm-monitor vllm-teardown vllm-cleanup
