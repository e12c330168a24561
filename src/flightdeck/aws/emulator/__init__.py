"""The embedded AWS emulator: moto's server on loopback plus what moto lacks.

Product code never imports this package to talk to AWS; it is pointed at the emulator only by
an endpoint URL (see ``flightdeck.aws.session``). This package is for starting the emulator
(``flightdeck emulator``, the embedded server, tests) and for steering its extra state.
"""

from __future__ import annotations

from flightdeck.aws.emulator.accounts import (
    DEFAULT_CUSTOMER_ACCOUNT_IDS,
    DEFAULT_PLATFORM_ACCOUNT_ID,
    AwsCredentials,
    static_credentials,
)
from flightdeck.aws.emulator.control import EmulatorControl, EmulatorControlError
from flightdeck.aws.emulator.profile import write_aws_profile
from flightdeck.aws.emulator.server import (
    DEFAULT_EMULATOR_PORT,
    RunningEmulator,
    is_loopback,
    start_emulator,
)
from flightdeck.aws.emulator.statefiles import EmulatorStateError

__all__ = [
    "DEFAULT_CUSTOMER_ACCOUNT_IDS",
    "DEFAULT_EMULATOR_PORT",
    "DEFAULT_PLATFORM_ACCOUNT_ID",
    "AwsCredentials",
    "EmulatorControl",
    "EmulatorControlError",
    "EmulatorStateError",
    "RunningEmulator",
    "is_loopback",
    "start_emulator",
    "static_credentials",
    "write_aws_profile",
]
