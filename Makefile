# vLLM production-stack test harness: user entry points only. Logic lives in
# scripts/ (TypeScript) and playbooks/ (Ansible). `make help` lists targets.

ifeq ($(V),1)
Q :=
else
Q := @
endif

NODE_TOOL := node dist/scripts
# The compiled tools; rebuilt only when a TypeScript source or the lock changes.
# `npm run build` (which `npm test` runs first) writes the stamp too, so that
# the tests' own make calls never rebuild dist/ under tests that are running.
BUILD_STAMP := dist/.built
# Directories too (absolute, so that test/ is not the test target), so that a
# deleted source also triggers a rebuild.
TS_SOURCES := $(shell find engine-sim router scripts test -name '*.ts' 2>/dev/null) tsconfig.json \
	$(abspath $(shell find engine-sim router scripts test -type d 2>/dev/null))
NPM_STAMP := node_modules/.package-lock.json
DEFCONFIGS := $(sort $(notdir $(wildcard defconfigs/vllm*)))
FRAGMENTS := $(sort $(notdir $(wildcard defconfigs/configs/*)))
KCONFIG_SOURCES := Kconfig $(wildcard kconfigs/Kconfig.*)
# Debian packages `make deps` installs, and a command each provides (sshd by its
# path: /usr/sbin is not on every user's PATH).
DEB_PACKAGES := ansible-core:ansible-playbook kconfig-frontends-nox:kconfig-conf kconfig-frontends-nox:kconfig-mconf prometheus:promtool unzip:unzip chromium:chromium openssh-server:/usr/sbin/sshd

.DEFAULT_GOAL := help

help: ## list every target with one line
	@{ echo "Targets:"; \
	  awk -F':.*## ' '/^[a-zA-Z0-9_.%+-]+:.*## / { printf "  %s\t%s\n", $$1, $$2 }' $(MAKEFILE_LIST); \
	  echo "Defconfigs (make defconfig-NAME, or defconfig-NAME+FRAGMENT[+FRAGMENT...]):"; \
	  for d in $(DEFCONFIGS); do printf "  %s\t%s\n" "defconfig-$$d" "$$(sed -n '1s/^# //p' defconfigs/$$d)"; done; \
	  echo "Fragments (defconfigs/configs/):"; \
	  for f in $(FRAGMENTS); do printf "  %s\t%s\n" "+$$f" "$$(sed -n '1s/^# //p' defconfigs/configs/$$f)"; done; \
	  echo "V=1 shows the commands."; \
	} | awk -F'\t' '{ row[NR] = $$0; if (NF > 1 && length($$1) > w) w = length($$1) } \
	  END { for (i = 1; i <= NR; i++) { if (split(row[i], f, "\t") > 1) printf "%-" w "s  %s\n", f[1], f[2]; else print row[i] } }'

deps: ## install what the project needs (Debian packages, npm dependencies); safe to run again
	$(Q)missing=""; for pair in $(DEB_PACKAGES); do \
		command -v $${pair#*:} >/dev/null || missing="$$missing $${pair%%:*}"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then sudo=""; \
		elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; \
		else echo "error: missing Debian packages:$$missing; install them as root (apt-get install$$missing) and run make deps again" >&2; exit 1; fi; \
		echo "installing$$missing"; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	$(Q)$(MAKE) -s --no-print-directory $(NPM_STAMP) $(KUBE_TOOLS)

$(NPM_STAMP): package-lock.json
	$(Q)npm ci --no-audit --no-fund

# npm run build starts from an empty dist/ (no output of a deleted source
# survives) and touches the stamp itself.
$(BUILD_STAMP): $(TS_SOURCES) $(NPM_STAMP)
	$(Q)npm run --silent build

build: $(BUILD_STAMP) ## compile the TypeScript (router, engine simulator, tools)

defconfig-%: $(BUILD_STAMP) ## .config from defconfigs/NAME (+ fragments), then extra_vars.yaml and hosts
	$(Q)$(NODE_TOOL)/kconfig-apply.js defconfig $*
	$(Q)$(MAKE) --no-print-directory extra_vars.yaml

menuconfig: $(BUILD_STAMP) ## change any option, with help for each (kconfig-mconf)
	$(Q)kconfig-mconf Kconfig
	$(Q)$(MAKE) --no-print-directory extra_vars.yaml

olddefconfig: $(BUILD_STAMP) ## bring .config up to date; fails when Kconfig would change a value
	$(Q)$(NODE_TOOL)/kconfig-apply.js olddefconfig
	$(Q)$(MAKE) --no-print-directory extra_vars.yaml

# Reached only when there is no .config: say what to do instead of make's "No rule".
.config:
	$(Q)echo "error: there is no .config: run make defconfig-vllm-local (or another defconfig; make help lists them) first" >&2; exit 1

# The Ansible variables and inventory follow .config: any defconfig,
# menuconfig or hand edit regenerates them on the next make.
extra_vars.yaml extra_vars.json hosts &: .config $(KCONFIG_SOURCES) schemas/extra-vars.schema.json $(BUILD_STAMP)
	$(Q)$(NODE_TOOL)/kconfig-apply.js olddefconfig
	$(Q)$(NODE_TOOL)/gen-extra-vars.js
	$(Q)echo "wrote extra_vars.yaml and hosts ($$(grep -c '^vllm_' extra_vars.yaml) variables)"

test: $(BUILD_STAMP) ## the project's tests (builds first when a source changed)
	$(Q)npm run --silent test:built

clean: ## remove build output and generated variables (keeps .config and results)
	$(Q)rm -rf dist .build-* extra_vars.yaml extra_vars.json hosts .bringup.done

# Tears down what the deployment records say runs first: once node_modules is
# gone nothing could stop it any more.
mrproper: ## vllm-teardown, then also remove .config, records, work dirs, node_modules (keeps results)
	$(Q)if ls .deployed/*.json >/dev/null 2>&1; then $(MAKE) --no-print-directory vllm-teardown; fi
	$(Q)$(MAKE) --no-print-directory clean
	$(Q)rm -rf .config .config.old work .deployed node_modules .tools

.PHONY: help deps build menuconfig olddefconfig test clean mrproper

include $(wildcard mk/*.mk)
