"""importwall inside other systems' launchers and telemetry.

* :mod:`importwall.integrations.ray`: the ``runtime_env`` that activates the firewall in
  every worker of a Ray job, Serve replicas included;
* :mod:`importwall.integrations.otel`: findings as OpenTelemetry logs and metrics (the
  ``importwall[otel]`` extra), started by ``IMPORTWALL_LOG=otel``.

A layer beside :mod:`importwall.audit` and :mod:`importwall.inject`: each module imports
its third-party package (if any) only when it is itself imported, and importing this
package imports neither.
"""
