"""Entry-point discovery for real: dist-info directories on sys.path, no mocks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from plugrpc_core import Balancer, Resolver
from plugrpc_core.plugins import (
    InvalidPluginError,
    PluginConflictError,
    PluginLoadError,
    PluginNotFoundError,
    all_entries,
    balancers,
    get_plugin_manager,
    reload_plugins,
    resolvers,
    skipped_entry_points,
)


def balancer_hooks(*names: str, extra: str = "") -> str:
    """Source of a hooks module registering one concrete Balancer per name."""
    classes = "\n".join(
        textwrap.dedent(
            f"""
            class Policy{i}(Balancer):
                name = {name!r}

                def update_state(self, state, config):
                    pass

                def resolver_error(self, error):
                    pass

                def close(self):
                    pass
            """
        )
        for i, name in enumerate(names)
    )
    listed = ", ".join(f"Policy{i}" for i in range(len(names)))
    return (
        "from plugrpc_core import Balancer\n"
        "from plugrpc_core.plugins import hookimpl\n"
        f"{classes}\n"
        "CALLS = []\n\n"
        "@hookimpl\n"
        "def plugrpc_register_balancers():\n"
        "    CALLS.append(1)\n"
        f"    return [{listed}]\n"
        f"{extra}"
    )


def resolver_hooks(scheme: str, label: str) -> str:
    return textwrap.dedent(
        f"""
        from plugrpc_core import Resolver
        from plugrpc_core.plugins import hookimpl

        class {label}(Resolver):
            scheme = {scheme!r}

            def start(self):
                pass

            def close(self):
                pass

        @hookimpl
        def plugrpc_register_resolvers():
            return [{label}]
        """
    )


def test_discovers_a_distribution_and_records_its_origin(plugin_site):
    module = plugin_site.plugin(
        "plugrpc-balancer-sbx", "balancer-sbx", balancer_hooks("sbx_policy"), version="1.2.3"
    )
    reload_plugins()
    cls = balancers.get("sbx_policy")
    assert issubclass(cls, Balancer)
    assert cls.__module__ == module
    (entry,) = [e for e in balancers.entries() if e.key == "sbx_policy"]
    assert entry.kind == "balancer"
    assert entry.cls is cls
    assert entry.distribution == "plugrpc-balancer-sbx"
    assert entry.version == "1.2.3"
    assert entry.entry_point == "balancer-sbx"
    assert not entry.builtin
    assert entry.class_path == f"{module}:Policy0"
    assert entry in all_entries()
    assert get_plugin_manager().has_plugin("balancer-sbx")


def test_hook_runs_once_and_lookups_do_not_call_pluggy(plugin_site):
    module = plugin_site.plugin("plugrpc-balancer-once", "once", balancer_hooks("once_policy"))
    reload_plugins()
    for _ in range(100):
        balancers.get("once_policy")
        balancers.find("once_policy")
    assert sys.modules[module].CALLS == [1]


def test_two_distributions_with_one_key_conflict_naming_both(plugin_site):
    plugin_site.plugin("plugrpc-balancer-left", "left", balancer_hooks("dup_policy"))
    plugin_site.plugin("plugrpc-balancer-right", "right", balancer_hooks("dup_policy"))
    with pytest.raises(PluginConflictError) as info:
        reload_plugins()
    message = str(info.value)
    assert "'dup_policy'" in message
    assert "plugrpc-balancer-left 0.1 (entry point 'left')" in message
    assert "plugrpc-balancer-right 0.1 (entry point 'right')" in message
    assert "PLUGRPC_BLOCK_PLUGINS" in message
    # The error stays until the environment is fixed: every lookup reports it.
    with pytest.raises(PluginConflictError):
        balancers.get("dup_policy")
    plugin_site.setenv("PLUGRPC_BLOCK_PLUGINS", "right")
    reload_plugins()
    (entry,) = [e for e in balancers.entries() if e.key == "dup_policy"]
    assert entry.distribution == "plugrpc-balancer-left"


def test_a_plugin_replaces_a_builtin_of_the_same_key(plugin_site):
    # A dist-info named plugrpc-core earlier on sys.path stands in for the built-in one.
    plugin_site.plugin("plugrpc-core", "core-sbx", resolver_hooks("sbxdns", "Builtin"))
    plugin_site.plugin("plugrpc-resolver-sbxdns", "sbxdns", resolver_hooks("sbxdns", "Better"))
    reload_plugins()
    cls = resolvers.get("sbxdns")
    assert issubclass(cls, Resolver)
    assert cls.__name__ == "Better"
    (entry,) = [e for e in resolvers.entries() if e.key == "sbxdns"]
    assert entry.distribution == "plugrpc-resolver-sbxdns"

    # Without the third-party plugin, the built-in one serves.
    plugin_site.setenv("PLUGRPC_DISABLE_PLUGIN_AUTOLOAD", "1")
    reload_plugins()
    (entry,) = [e for e in resolvers.entries() if e.key == "sbxdns"]
    assert entry.cls.__name__ == "Builtin"
    assert entry.builtin
    assert entry.distribution == "plugrpc-core"


def test_allowlist_loads_only_named_entry_points_and_builtins(plugin_site):
    plugin_site.plugin("plugrpc-core", "core-sbx", resolver_hooks("sbxcore", "Core"))
    plugin_site.plugin("plugrpc-balancer-a", "ep-a", balancer_hooks("policy_a"))
    plugin_site.plugin("plugrpc-balancer-b", "ep-b", balancer_hooks("policy_b"))
    plugin_site.setenv("PLUGRPC_PLUGINS", " ep-a , ")
    reload_plugins()
    assert balancers.find("policy_a") is not None
    assert balancers.find("policy_b") is None
    assert resolvers.find("sbxcore") is not None  # built-ins always load
    skipped = {s.name: s for s in skipped_entry_points()}
    assert skipped["ep-b"].reason == "not listed in PLUGRPC_PLUGINS"
    assert skipped["ep-b"].distribution == "plugrpc-balancer-b"
    assert "ep-a" not in skipped


def test_blocklist_never_loads_named_entry_points(plugin_site):
    plugin_site.plugin("plugrpc-core", "core-sbx", resolver_hooks("sbxcore", "Core"))
    plugin_site.plugin("plugrpc-balancer-a", "ep-a", balancer_hooks("policy_a"))
    plugin_site.plugin("plugrpc-balancer-b", "ep-b", balancer_hooks("policy_b"))
    plugin_site.setenv("PLUGRPC_BLOCK_PLUGINS", "ep-b,core-sbx")
    reload_plugins()
    assert balancers.find("policy_a") is not None
    assert balancers.find("policy_b") is None
    assert resolvers.find("sbxcore") is None  # blocking applies to built-ins too
    reasons = {s.name: s.reason for s in skipped_entry_points()}
    assert reasons["ep-b"] == "blocked by PLUGRPC_BLOCK_PLUGINS"
    assert reasons["core-sbx"] == "blocked by PLUGRPC_BLOCK_PLUGINS"


@pytest.mark.parametrize(
    ("value", "loads"), [("1", False), ("yes", False), ("0", True), ("", True)]
)
def test_autoload_switch(plugin_site, value, loads):
    plugin_site.plugin("plugrpc-core", "core-sbx", resolver_hooks("sbxcore", "Core"))
    plugin_site.plugin("plugrpc-balancer-a", "ep-a", balancer_hooks("policy_a"))
    plugin_site.setenv("PLUGRPC_DISABLE_PLUGIN_AUTOLOAD", value)
    reload_plugins()
    assert (balancers.find("policy_a") is not None) is loads
    assert resolvers.find("sbxcore") is not None
    if not loads:
        (skipped,) = [s for s in skipped_entry_points() if s.name == "ep-a"]
        assert skipped.reason == "autoload disabled by PLUGRPC_DISABLE_PLUGIN_AUTOLOAD"


def test_not_found_message_names_installed_install_hint_and_skipped(plugin_site):
    plugin_site.plugin("plugrpc-balancer-a", "ep-a", balancer_hooks("policy_a"))
    plugin_site.plugin(
        "plugrpc-balancer-ring-hash", "ring", balancer_hooks("ring_hash_experimental")
    )
    plugin_site.setenv("PLUGRPC_BLOCK_PLUGINS", "ring")
    reload_plugins()
    with pytest.raises(PluginNotFoundError) as info:
        balancers.get("ring_hash_experimental")
    err = info.value
    assert isinstance(err, LookupError)
    message = str(err)
    assert message.startswith("no balancer named 'ring_hash_experimental'; installed: ")
    assert "policy_a" in err.installed
    assert "pip install plugrpc-balancer-ring-hash" in message
    assert "entry points not loaded: ring (blocked by PLUGRPC_BLOCK_PLUGINS)" in message
    assert err.install == "plugrpc-balancer-ring-hash"


def test_plugin_returning_a_wrong_class_is_rejected_naming_the_distribution(plugin_site):
    plugin_site.plugin(
        "plugrpc-balancer-bad",
        "bad",
        """
        from plugrpc_core.plugins import hookimpl

        class NotABalancer:
            name = "nope"

        @hookimpl
        def plugrpc_register_balancers():
            return [NotABalancer]
        """,
    )
    with pytest.raises(InvalidPluginError) as info:
        reload_plugins()
    message = str(info.value)
    assert "plugrpc-balancer-bad 0.1 (entry point 'bad')" in message
    assert "does not subclass plugrpc_core._balancing.Balancer" in message


def test_plugin_with_an_empty_key_is_rejected(plugin_site):
    plugin_site.plugin("plugrpc-balancer-nameless", "nameless", balancer_hooks(""))
    with pytest.raises(InvalidPluginError, match=r"plugrpc-balancer-nameless.*non-empty string"):
        reload_plugins()


def test_hooks_module_that_fails_to_import_is_a_load_error(plugin_site):
    plugin_site.plugin("plugrpc-balancer-broken", "broken", "raise RuntimeError('boom')\n")
    with pytest.raises(PluginLoadError) as info:
        reload_plugins()
    message = str(info.value)
    assert "plugrpc-balancer-broken 0.1 (entry point 'broken')" in message
    assert "boom" in message
    assert "PLUGRPC_BLOCK_PLUGINS=broken" in message
    plugin_site.setenv("PLUGRPC_BLOCK_PLUGINS", "broken")
    reload_plugins()


def test_misspelled_hook_is_a_load_error(plugin_site):
    plugin_site.plugin(
        "plugrpc-balancer-typo",
        "typo",
        """
        from plugrpc_core.plugins import hookimpl

        @hookimpl
        def plugrpc_register_balancer():
            return []
        """,
    )
    with pytest.raises(PluginLoadError, match=r"plugrpc-balancer-typo.*plugrpc_register_balancer"):
        reload_plugins()


def test_hook_that_raises_is_a_load_error(plugin_site):
    plugin_site.plugin(
        "plugrpc-balancer-raises",
        "raises",
        """
        from plugrpc_core.plugins import hookimpl

        @hookimpl
        def plugrpc_register_balancers():
            raise KeyError("inside")
        """,
    )
    with pytest.raises(PluginLoadError, match="plugrpc_register_balancers of plugrpc-balancer"):
        reload_plugins()


def test_one_entry_point_name_in_two_distributions_conflicts(plugin_site):
    plugin_site.plugin("plugrpc-balancer-one", "same", balancer_hooks("one_policy"))
    module = plugin_site.module("other_hooks", balancer_hooks("two_policy"))
    plugin_site.distribution("plugrpc-balancer-two", {"same": module})
    with pytest.raises(PluginConflictError, match="entry point 'same'"):
        reload_plugins()


def test_two_entry_points_to_one_module_register_it_once(plugin_site):
    module = plugin_site.module("shared_hooks", balancer_hooks("shared_policy"))
    plugin_site.distribution("plugrpc-balancer-shared", {"first": module, "second": module})
    reload_plugins()
    assert balancers.find("shared_policy") is not None
    assert sys.modules[module].CALLS == [1]


def test_loading_is_lazy_once_and_thread_safe(plugin_site):
    """In a fresh interpreter: nothing loads at import; eight racing threads load once;
    hooks registered on the manager before the first lookup take part."""
    module = plugin_site.plugin("plugrpc-balancer-lazy", "lazy", balancer_hooks("lazy_policy"))
    script = textwrap.dedent(
        f"""
        import sys, threading
        from plugrpc_core import plugins
        assert {module!r} not in sys.modules, "entry points loaded at import"

        from plugrpc_core import Balancer

        class AppPolicy(Balancer):
            name = "app_policy"
            def update_state(self, state, config): pass
            def resolver_error(self, error): pass
            def close(self): pass

        class AppHooks:
            @plugins.hookimpl
            def plugrpc_register_balancers(self):
                return [AppPolicy]

        # Hooks registered on the manager before the first lookup count, as <runtime>.
        plugins.get_plugin_manager().register(AppHooks(), name="app")
        barrier = threading.Barrier(8)
        found = []
        def worker():
            barrier.wait()
            found.append(plugins.balancers.get("lazy_policy"))
        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        (app,) = [e for e in plugins.balancers.entries() if e.key == "app_policy"]
        assert (app.cls, app.distribution, app.entry_point) == (AppPolicy, "<runtime>", None)
        print(len(set(found)), len(found), sys.modules[{module!r}].CALLS)
        """
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(plugin_site.root), *sys.path]))
    for name in ("PLUGRPC_DISABLE_PLUGIN_AUTOLOAD", "PLUGRPC_PLUGINS", "PLUGRPC_BLOCK_PLUGINS"):
        env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1", "8", "[1]"]


def test_cli_lists_a_discovered_plugin(plugin_site):
    pytest.importorskip("plugrpc")
    plugin_site.plugin(
        "plugrpc-balancer-cli", "cli-ep", balancer_hooks("cli_policy"), version="9.9"
    )
    plugin_site.plugin("plugrpc-balancer-hidden", "hidden", balancer_hooks("hidden_policy"))
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(plugin_site.root), *sys.path]),
        PLUGRPC_BLOCK_PLUGINS="hidden",
    )
    env.pop("PLUGRPC_DISABLE_PLUGIN_AUTOLOAD", None)
    env.pop("PLUGRPC_PLUGINS", None)
    run = [sys.executable, "-m", "plugrpc", "plugins"]
    table = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert table.returncode == 0, table.stderr
    (row,) = [line for line in table.stdout.splitlines() if "cli_policy" in line]
    assert row.split() == [
        "balancer",
        "cli_policy",
        "plugrpc-balancer-cli",
        "9.9",
        f"{plugin_site.prefix}cli_ep_hooks:Policy0",
    ]
    assert "hidden_policy" not in table.stdout
    assert "entry point 'hidden' of plugrpc-balancer-hidden was not loaded" in table.stderr

    as_json = subprocess.run(
        [*run, "--json"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert as_json.returncode == 0, as_json.stderr
    rows = json.loads(as_json.stdout)
    assert rows == sorted(rows, key=lambda r: (r["kind"], r["key"]))
    (mine,) = [r for r in rows if r["key"] == "cli_policy"]
    assert mine == {
        "kind": "balancer",
        "key": "cli_policy",
        "distribution": "plugrpc-balancer-cli",
        "version": "9.9",
        "class": f"{plugin_site.prefix}cli_ep_hooks:Policy0",
        "entry_point": "cli-ep",
    }


def test_cli_reports_a_broken_installation(plugin_site):
    pytest.importorskip("plugrpc")
    plugin_site.plugin("plugrpc-balancer-left", "left", balancer_hooks("dup_policy"))
    plugin_site.plugin("plugrpc-balancer-right", "right", balancer_hooks("dup_policy"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(plugin_site.root), *sys.path]))
    done = subprocess.run(
        [sys.executable, "-m", "plugrpc", "plugins"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "error: two plugins register the balancer 'dup_policy'" in done.stderr
