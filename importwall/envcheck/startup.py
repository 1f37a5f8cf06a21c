"""``check_at_startup = true``: run the environment gate when the firewall is activated.

In ``enforce`` mode an error-severity finding stops activation with
:class:`~importwall.errors.EnvironmentRejectedError` (at interpreter start the bootstrap
turns it into a refusal to start). In ``warn`` mode every finding of severity warning or
above is also emitted as an :class:`~importwall.errors.ImportWallWarning`; ``audit`` only
records. importwall's own trouble here is recorded, except in ``enforce`` mode, which
fails closed.
"""

from __future__ import annotations

from importwall.envcheck import check_environment
from importwall.errors import EnvironmentRejectedError
from importwall.findings import Finding
from importwall.runtime.finder import Firewall, internal_error


def gate(firewall: Firewall) -> list[Finding]:
    """Check the environment against the firewall's policy; record findings on it."""
    try:
        findings = check_environment(firewall.policy)
    except Exception as error:  # importwall's own failure: fail closed only in enforce
        if firewall.mode == "enforce":
            raise
        firewall.record(internal_error(f"the environment check could not run: {error!r}"))
        return []
    for finding in findings:
        firewall.record(finding)
    errors = [finding for finding in findings if finding.at_least("error")]
    if firewall.mode == "enforce" and errors:
        raise EnvironmentRejectedError(errors)
    if firewall.mode != "audit":
        for finding in findings:
            if finding.at_least("warning"):
                _warn(firewall, finding)
    return findings


def _warn(firewall: Firewall, finding: Finding) -> None:
    """Point the warning at the policy rule that decided, not at importwall's code."""
    path, _, line = (finding.source or "").rpartition(":")
    if not path or not line.isdigit():
        path, line = firewall.policy.path, "1"
    reason = f" ({finding.reason})" if finding.reason else ""
    firewall.warn_at(f"importwall: {finding.message}{reason}", path, int(line))
