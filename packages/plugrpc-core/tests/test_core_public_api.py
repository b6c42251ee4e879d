"""The public surface: every public name is exported, ``__all__`` lists are sorted and true."""

from __future__ import annotations

import importlib

import pytest

MODULES = ["plugrpc_core", "plugrpc_core.plugins"]


@pytest.mark.parametrize("name", MODULES)
def test_all_is_sorted_unique_and_importable(name):
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported == sorted(exported)
    assert len(set(exported)) == len(exported)
    for attr in exported:
        assert hasattr(module, attr), attr


@pytest.mark.parametrize("name", MODULES)
def test_every_public_name_is_in_all(name):
    module = importlib.import_module(name)
    public = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and not (isinstance(value, type(importlib)))
        and attr != "annotations"
    }
    assert public <= set(module.__all__), public - set(module.__all__)


def test_service_config_names_are_exported_from_the_package():
    import plugrpc_core

    for attr in [
        "HedgingPolicy",
        "MethodConfig",
        "MethodName",
        "RetryPolicy",
        "RetryThrottling",
        "ServiceConfig",
        "ServiceConfigError",
        "parse_service_config",
        "select_lb_policy",
    ]:
        assert attr in plugrpc_core.__all__
    assert issubclass(plugrpc_core.ServiceConfigError, ValueError)


def test_plugin_api_names():
    from plugrpc_core import plugins

    assert plugins.hookspec.project_name == "plugrpc"
    assert plugins.hookimpl.project_name == "plugrpc"
    assert issubclass(plugins.PluginNotFoundError, LookupError)
    pm = plugins.get_plugin_manager()
    assert pm is plugins.get_plugin_manager()
    hooks = {name for name in dir(pm.hook) if name.startswith("plugrpc_")}
    assert hooks == {
        "plugrpc_register_balancers",
        "plugrpc_register_resolvers",
        "plugrpc_register_codecs",
        "plugrpc_register_compressors",
        "plugrpc_register_channel_credentials",
        "plugrpc_register_call_credentials",
        "plugrpc_register_server_credentials",
        "plugrpc_register_interceptors",
        "plugrpc_register_stats_handlers",
    }
