# Ansible stdout callback of the harness (ansible.cfg: stdout_callback = vllm).
# The playbooks only call the project's tools; what users need to read is what
# those tools print. So: a play's name only once one of its tasks runs (no empty
# play headers), a task's name when it starts (long steps show what they wait
# for), a debug task's `msg` as plain lines, and a failure as the tool's own
# stdout and stderr (or the task's `msg`) -- never a cmd/delta/rc dump.
# ANSIBLE_STDOUT_CALLBACK=default brings Ansible's usual output back.
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = '''
    name: vllm
    type: stdout
    short_description: plain output of the vLLM harness tools
    description:
        - Prints play and task names as they start, debug messages and tool output as plain text,
          and failures as the failing tool's own messages.
    requirements:
      - set as stdout_callback in ansible.cfg
'''

from ansible import constants as C
from ansible.plugins.callback import CallbackBase
from ansible.template import Templar


def _lines(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        out = []
        for item in value:
            out.extend(_lines(item))
        return out
    text = value if isinstance(value, str) else str(value)
    return [line for line in text.rstrip('\n').split('\n')] if text.strip() else []


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'vllm'

    def __init__(self):
        super(CallbackModule, self).__init__()
        self._play_name = None
        self._play_shown = True
        self._task_name = None
        self._task_shown = True
        self._failed = {}
        self._play = None

    def _show_play(self):
        if not self._play_shown:
            self._play_shown = True
            self._display.display(u'\n▶ %s' % self._play_name, color=C.COLOR_HIGHLIGHT)

    def _show_task(self):
        self._show_play()
        if not self._task_shown:
            self._task_shown = True
            self._display.display(u'  • %s' % self._task_name)

    def _print(self, host, lines, color=None, stderr=False):
        for line in lines:
            # Tools that name their node ("vllm-dev: ...") keep their line; others get the host in
            # front, but the controller's (localhost) own summaries are not any node's.
            text = line if host == 'localhost' or (host + ':') in line else u'%s: %s' % (host, line)
            self._display.display(u'    %s' % text, color=color, stderr=stderr)

    def v2_playbook_on_play_start(self, play):
        self._play_name = play.get_name().strip() or 'play'
        self._play_shown = False
        self._play = play

    def _will_run(self, host, task):
        """Whether a conditional task runs on the host: its `when` evaluated as Ansible will."""
        try:
            variables = self._play.get_variable_manager().get_vars(play=self._play, host=host, task=task)
            return task.evaluate_conditional(Templar(loader=self._play._loader, variables=variables), variables)
        except Exception:
            return False

    def v2_runner_on_start(self, host, task):
        # A long conditional step (the suites, the benchmark) shows its name as it starts on the
        # first host that runs it, so that the progress make prints meanwhile sits under it.
        if not self._task_shown and task.when and self._will_run(host, task):
            self._show_task()

    def v2_playbook_on_task_start(self, task, is_conditional):
        # The task's own name, without the role in front of it.
        self._task_name = (task.name or task.get_name()).strip()
        # Debug tasks only show what an earlier task did; a conditional task may be skipped.
        self._task_shown = task.action in ('debug', 'ansible.builtin.debug')
        if not self._task_shown and not task.when:
            self._show_task()

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def v2_runner_on_ok(self, result):
        if result._task.action in ('debug', 'ansible.builtin.debug'):
            self._show_play()
            self._print(result._host.get_name(), _lines(result._result.get('msg')))
        else:
            self._show_task()
        for warning in result._result.get('warnings', []):
            self._display.warning(warning)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._show_task()
        host = result._host.get_name()
        res = result._result
        lines = _lines(res.get('stdout')) + _lines(res.get('stderr'))
        if not lines:
            lines = _lines(res.get('msg')) or ['failed (run with ANSIBLE_STDOUT_CALLBACK=default for details)']
        self._display.display(u'    ❌ %s failed:' % host, color=C.COLOR_ERROR, stderr=True)
        self._print(host, lines, color=C.COLOR_ERROR, stderr=True)
        if not ignore_errors:
            self._failed.setdefault(host, self._task_name)

    def v2_runner_on_unreachable(self, result):
        # A task that expects it (ignore_unreachable, as the probe of lost nodes) reports it itself.
        if result._task.ignore_unreachable:
            return
        self._show_task()
        host = result._host.get_name()
        self._display.display(u'    ❌ %s unreachable: %s' % (host, result._result.get('msg', '')), color=C.COLOR_UNREACHABLE, stderr=True)
        self._failed.setdefault(host, 'unreachable')

    def v2_runner_on_skipped(self, result):
        pass

    def v2_playbook_on_no_hosts_matched(self):
        pass

    def v2_playbook_on_no_hosts_remaining(self):
        pass

    def v2_playbook_on_stats(self, stats):
        # Ansible's recap, one line per node: what changed (a second bring-up changes nothing).
        hosts = sorted(h for h in stats.processed.keys() if h != 'localhost')
        if hosts:
            self._display.display(u'')
        for h in hosts:
            t = stats.summarize(h)
            self._display.display(u'  %s: ok=%d changed=%d unreachable=%d failed=%d skipped=%d' % (
                h, t['ok'], t['changed'], t['unreachable'], t['failures'], t['skipped']))
        if self._failed:
            where = ', '.join('%s (%s)' % (h, t) for h, t in sorted(self._failed.items()))
            self._display.display(u'\n❌ failed: %s' % where, color=C.COLOR_ERROR, stderr=True)
