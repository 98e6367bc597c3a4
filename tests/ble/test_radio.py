"""Choosing the Bluetooth stack, and what a practitioner is told when there is none."""

from __future__ import annotations

import pytest

from twitchd.ble.radio import Radio, parse_radio
from twitchd.errors import ConfigError

pytestmark = pytest.mark.ble


def test_radio_specs_name_the_os_stack_the_virtual_air_or_a_bumble_transport() -> None:
    assert parse_radio("os").bumble is None and parse_radio("").bumble is None
    assert parse_radio("virtual").label == "the virtual radio at 127.0.0.1:9300"
    assert parse_radio("virtual:9400").label == "the virtual radio at 127.0.0.1:9400"
    assert parse_radio("virtual:10.0.0.2:9400").label == "the virtual radio at 10.0.0.2:9400"
    assert parse_radio("bumble:usb:0").label == "Bumble on usb:0"
    for bad in ("virtual:abc", "bluez", "bumble:", "usb:0"):
        with pytest.raises(ConfigError, match="docs/ble.md|PORT"):
            parse_radio(bad)


def test_a_computer_without_bluetooth_gets_told_what_to_do() -> None:
    os_radio = Radio("the computer's Bluetooth")
    # What bleak raises on Linux when there is no system D-Bus (containers, CI).
    told = str(os_radio.explain(FileNotFoundError(2, "No such file or directory"), "scanning for BLE sensors"))
    assert "Bluetooth is not available" in told and "twitchd sim-ble" in told
    virtual = parse_radio("virtual:9400")
    told = str(virtual.explain(ConnectionRefusedError(111, "Connect call failed"), "looking for TW-3F2A9C"))
    assert "does not answer" in told and "twitchd sim-ble" in told
