"""Pairing starts with a scan: only twitchd sensors are offered, with their signal strength."""

from __future__ import annotations

import asyncio

import pytest

from tests.ble.conftest import SENSOR_ID, sensor_in_range
from twitchd.ble import NUS_SERVICE
from twitchd.ble.scan import find, scan

pytestmark = pytest.mark.ble


async def advertise_gadget(link: object, address: str, name: str, service: str) -> object:
    """Some other BLE gadget in the room, advertising ``name`` and one service."""
    from bumble.controller import Controller
    from bumble.core import UUID, AdvertisingData
    from bumble.device import Device
    from bumble.hci import Address
    from bumble.host import Host
    from bumble.transport.common import AsyncPipeSink

    controller = Controller(name, link=link)  # type: ignore[arg-type]
    gadget = Device(name, Address(address), host=Host(controller, AsyncPipeSink(controller)))
    await gadget.power_on()
    uuid = UUID(service)
    kind = (AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS if len(uuid.to_bytes()) == 2
            else AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS)
    data = bytes(AdvertisingData([(kind, uuid.to_bytes()), (AdvertisingData.COMPLETE_LOCAL_NAME, name.encode())]))
    await gadget.start_advertising(advertising_data=data, advertising_interval_min=50, advertising_interval_max=50)
    return gadget


def test_a_scan_lists_the_sensor_but_not_other_uart_gadgets_or_lookalike_names() -> None:
    async def story() -> None:
        async with sensor_in_range() as (sensor, radio):
            # A serial bridge with the same Nordic UART service, and a heart-rate strap
            # whose name happens to start like a twitchd device id.
            await advertise_gadget(sensor.link, "C1:00:00:00:00:01", "Nordic_UART", NUS_SERVICE)
            await advertise_gadget(sensor.link, "C1:00:00:00:00:02", "TW-HRM001", "180D")
            await asyncio.sleep(0.6)  # a fresh advertiser's first packets take a moment
            found = await scan(radio, 1.0)
            assert [(s.name, s.address) for s in found] == [(SENSOR_ID, sensor.address)]
            assert found[0].rssi is not None and -100 < found[0].rssi < 0
            # Found by name or by address, as soon as it is heard.
            assert (await find(radio, SENSOR_ID, 2.0)) is not None
            assert (await find(radio, sensor.address.lower(), 2.0)) is not None
            assert (await find(radio, "Nordic_UART", 0.5)) is None

    asyncio.run(story())
