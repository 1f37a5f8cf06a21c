"""``PYTHONSTARTUP`` script for interactive shells (``importwall startup-file`` prints
this file's path).

An interactive interpreter (``kubectl exec -it POD -- python``) runs this file before the
first prompt; scripts, ``-c``, ``-m`` and servers never do, which is why the ``.pth`` and
``sitecustomize`` routes exist. This file starts the firewall if nothing did yet and says
in one line whether the shell is guarded. It runs in the shell's own namespace, so it
leaves no names behind.
"""


def _importwall_interactive() -> None:
    import os
    import sys

    if not os.environ.get("IMPORTWALL_POLICY"):
        sys.stderr.write("importwall: IMPORTWALL_POLICY is not set; this shell is not "
                         "guarded by the import firewall\n")
        return
    try:
        import importwall
        from importwall._bootstrap import startup
    except ImportError:
        sys.stderr.write("importwall: not importable from this interpreter "
                         f"({sys.executable}); this shell is not guarded\n")
        return
    startup()
    firewall = importwall.active()
    if firewall is None:
        sys.stderr.write("importwall: the firewall is not active in this shell\n")
        return
    strict = ", strict" if firewall.policy.strict else ""
    sys.stderr.write(f"importwall: firewall active (policy {firewall.policy.path}, "
                     f"mode {firewall.mode}{strict})\n")


_importwall_interactive()
del _importwall_interactive
