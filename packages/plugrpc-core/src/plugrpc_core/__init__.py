"""plugrpc-core: the vocabulary of plugrpc and the interfaces its plugins implement.

No I/O happens here. The call layer (``plugrpc``) and the transport
(``plugrpc_transport``) build on these names; plugins implement the abstract classes and
register them through the pluggy hooks in ``plugrpc_core.plugins``.
"""

from __future__ import annotations

from ._balancing import (
    Balancer,
    BalancerHelper,
    ConnectivityState,
    PickComplete,
    Picker,
    PickFail,
    PickInfo,
    PickQueue,
    PickResult,
    Subchannel,
    TimerHandle,
)
from ._calls import (
    ClientCallDetails,
    ClientInterceptor,
    HandlerCallDetails,
    MethodHandler,
    MethodKind,
    ServerInterceptor,
)
from ._credentials import (
    CallCredentials,
    CallCredentialsInfo,
    ChannelCredentials,
    ServerCredentials,
)
from ._deadline import Deadline
from ._encoding import Codec, Compressor, MessageTooLargeError
from ._errors import RpcError
from ._metadata import Metadata, MetadataLike, MetadataValue, validate_metadata_key
from ._naming import Address, Resolver, ResolverListener, ResolverOptions, ResolverState, Target
from ._service_config import (
    HedgingPolicy,
    MethodConfig,
    MethodName,
    RetryPolicy,
    RetryThrottling,
    ServiceConfig,
    ServiceConfigError,
    parse_service_config,
    select_lb_policy,
)
from ._stats import CallEnd, CallStart, MessageIn, MessageOut, StatsEvent, StatsHandler
from ._status import StatusCode

__version__ = "0.1.0"

__all__ = [
    "Address",
    "Balancer",
    "BalancerHelper",
    "CallCredentials",
    "CallCredentialsInfo",
    "CallEnd",
    "CallStart",
    "ChannelCredentials",
    "ClientCallDetails",
    "ClientInterceptor",
    "Codec",
    "Compressor",
    "ConnectivityState",
    "Deadline",
    "HandlerCallDetails",
    "HedgingPolicy",
    "MessageIn",
    "MessageOut",
    "MessageTooLargeError",
    "Metadata",
    "MetadataLike",
    "MetadataValue",
    "MethodConfig",
    "MethodHandler",
    "MethodKind",
    "MethodName",
    "PickComplete",
    "PickFail",
    "PickInfo",
    "PickQueue",
    "PickResult",
    "Picker",
    "Resolver",
    "ResolverListener",
    "ResolverOptions",
    "ResolverState",
    "RetryPolicy",
    "RetryThrottling",
    "RpcError",
    "ServerCredentials",
    "ServerInterceptor",
    "ServiceConfig",
    "ServiceConfigError",
    "StatsEvent",
    "StatsHandler",
    "StatusCode",
    "Subchannel",
    "Target",
    "TimerHandle",
    "parse_service_config",
    "select_lb_policy",
    "validate_metadata_key",
]
