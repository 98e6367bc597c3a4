"""A bleak backend on Bumble's host stack: BleakScanner and BleakClient run
unchanged (``backend=BumbleScanner`` / ``BumbleClient``, ``bumble=`` a
:class:`~twitchd.ble.bumble_stack.BumbleRadio`) where the OS has no Bluetooth
stack, or on a virtual controller in tests.

Bumble's errors become BleakError, as in bleak's own backends, so the code
above (twitchd.transports.ble) handles one family. One Bumble quirk is smoothed
over here: a GATT request that is pending when the link drops ends in
CancelledError, which must not be mistaken for a cancellation of the caller.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from bleak.args import SizedBuffer
from bleak.assigned_numbers import CharacteristicPropertyName
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError
from bumble import core
from bumble.att import ATT_Error
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt import Characteristic
from bumble.gatt_client import CharacteristicProxy
from bumble.hci import Address

from twitchd.ble.bumble_stack import BumbleRadio

log = logging.getLogger(__name__)
T = TypeVar("T")

#: What the client asks for; the firmware asks for 247 too (BLEDevice::setMTU).
DEFAULT_MTU = 247
PROPERTY_NAMES: dict[Characteristic.Properties, CharacteristicPropertyName] = {
    Characteristic.Properties.BROADCAST: "broadcast",
    Characteristic.Properties.READ: "read",
    Characteristic.Properties.WRITE_WITHOUT_RESPONSE: "write-without-response",
    Characteristic.Properties.WRITE: "write",
    Characteristic.Properties.NOTIFY: "notify",
    Characteristic.Properties.INDICATE: "indicate",
    Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES: "authenticated-signed-writes",
    Characteristic.Properties.EXTENDED_PROPERTIES: "extended-properties",
}


def uuid_str(value: core.UUID) -> str:
    """bleak's form of a UUID: 128-bit, lower case, dashed."""
    return str(uuid.UUID(bytes=bytes(reversed(value.to_bytes(force_128=True)))))


def advertisement_data(adv: Advertisement) -> AdvertisementData:
    """bleak's view of one (accumulated) advertisement."""
    name = adv.data.get(AdvertisingData.COMPLETE_LOCAL_NAME) or adv.data.get(AdvertisingData.SHORTENED_LOCAL_NAME)
    uuids: list[str] = []
    manufacturer: dict[int, bytes] = {}
    service_data: dict[str, bytes] = {}
    tx_power: int | None = None
    for ad_type, raw in adv.data.ad_structures:
        if ad_type in _UUID_LISTS:
            size = _UUID_LISTS[ad_type]
            uuids += [uuid_str(core.UUID.from_bytes(raw[i:i + size])) for i in range(0, len(raw) - size + 1, size)]
        elif ad_type == AdvertisingData.MANUFACTURER_SPECIFIC_DATA and len(raw) >= 2:
            manufacturer[int.from_bytes(raw[:2], "little")] = bytes(raw[2:])
        elif ad_type in _SERVICE_DATA:
            size = _SERVICE_DATA[ad_type]
            service_data[uuid_str(core.UUID.from_bytes(raw[:size]))] = bytes(raw[size:])
        elif ad_type == AdvertisingData.TX_POWER_LEVEL and raw:
            tx_power = int.from_bytes(raw[:1], "little", signed=True)
    return AdvertisementData(name if isinstance(name, str) else None, manufacturer, service_data,
                             list(dict.fromkeys(uuids)), tx_power, adv.rssi, (adv,))


_UUID_LISTS = {
    AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS: 2,
    AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS: 2,
    AdvertisingData.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS: 4,
    AdvertisingData.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS: 4,
    AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS: 16,
    AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS: 16,
}
_SERVICE_DATA = {
    AdvertisingData.SERVICE_DATA_16_BIT_UUID: 2,
    AdvertisingData.SERVICE_DATA_32_BIT_UUID: 4,
    AdvertisingData.SERVICE_DATA_128_BIT_UUID: 16,
}


class BumbleScanner(BaseBleakScanner):
    def __init__(self, detection_callback: AdvertisementDataCallback | None, service_uuids: list[str] | None,
                 scanning_mode: str = "active", *, bumble: BumbleRadio, **kwargs: Any) -> None:
        super().__init__(detection_callback, service_uuids)
        self._radio = bumble
        self._token: int | None = None

    async def start(self) -> None:
        self.seen_devices = {}
        try:
            self._token = await self._radio.start_scan(self._on_advertisement)
        except core.BaseBumbleError as exc:  # OSError stays itself: the radio cannot be reached
            raise BleakError(f"cannot scan on {self._radio.label}: {exc}") from exc

    async def stop(self) -> None:
        token, self._token = self._token, None
        if token is not None:
            await self._radio.stop_scan(token)

    def _on_advertisement(self, adv: Advertisement) -> None:
        data = advertisement_data(adv)
        if not self.is_allowed_uuid(data.service_uuids):
            return
        address = str(adv.address).upper()
        device = self.create_or_update_device(address, address, data.local_name, adv.address, data)
        self.call_detection_callbacks(device, data)


class BumbleClient(BaseBleakClient):
    def __init__(self, address_or_ble_device: BLEDevice | str, *, disconnected_callback: Callable[[], None] | None,
                 timeout: float, bumble: BumbleRadio, mtu: int = DEFAULT_MTU, **kwargs: Any) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout)
        self._radio = bumble
        self._wanted_mtu = mtu
        self._name = address_or_ble_device.name if isinstance(address_or_ble_device, BLEDevice) else None
        self._peer_address = address_or_ble_device.details if isinstance(address_or_ble_device, BLEDevice) \
            and isinstance(address_or_ble_device.details, Address) else None
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._forget_radio: Callable[[], None] | None = None

    @property
    def name(self) -> str:
        return self._name or self.address

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    # -- connection ---------------------------------------------------------
    async def connect(self, pair: bool, **kwargs: Any) -> None:
        device = await self._radio.device()  # OSError if the radio cannot be reached
        address = self._peer_address or await self._find(device)
        try:
            connection = await device.connect(address, transport=core.PhysicalTransport.LE, timeout=self._timeout)
        except (core.BaseBumbleError, asyncio.TimeoutError) as exc:
            raise BleakError(f"could not connect to {self.address}: {exc or type(exc).__name__}") from exc
        self._connection = connection
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._forget_radio = self._radio.on_lost(lambda: self._on_disconnection(None))
        try:
            self._peer = Peer(connection)
            if self._wanted_mtu > 23:
                await self._gatt(self._peer.request_mtu(self._wanted_mtu))
            self.services = await self._gatt(self._discover(self._peer))
        except BaseException:
            await self.disconnect()
            raise

    async def _find(self, device: Device) -> Address:
        """The address (with its type) of a string address: from the radio's last scan, else a new scan."""
        wanted = self.address.upper()
        if wanted in self._radio.seen:
            return self._radio.seen[wanted].address
        found: asyncio.Future[Address] = asyncio.get_running_loop().create_future()

        def look(adv: Advertisement) -> None:
            if str(adv.address).upper() == wanted and not found.done():
                found.set_result(adv.address)

        token = await self._radio.start_scan(look)
        try:
            return await asyncio.wait_for(found, self._timeout)
        except asyncio.TimeoutError:
            raise BleakDeviceNotFoundError(self.address, f"{self.address} was not found") from None
        finally:
            await self._radio.stop_scan(token)

    async def _discover(self, peer: Peer) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()
        for service in await peer.discover_services():
            bleak_service = BleakGATTService(service, service.handle, uuid_str(service.uuid))
            collection.add_service(bleak_service)
            for char in await service.discover_characteristics():
                props = [name for flag, name in PROPERTY_NAMES.items() if char.properties & flag]
                bleak_char = BleakGATTCharacteristic(char, char.handle, uuid_str(char.uuid), props,
                                                     lambda: self.mtu_size - 3, bleak_service)
                collection.add_characteristic(bleak_char)
                for desc in await char.discover_descriptors():
                    collection.add_descriptor(BleakGATTDescriptor(desc, desc.handle, uuid_str(desc.type), bleak_char))
        return collection

    def _on_disconnection(self, reason: int | None) -> None:
        if self._connection is None:
            return
        log.debug("%s: disconnected (reason %s)", self.address, reason)
        self._connection, self._peer = None, None
        if self._forget_radio is not None:
            self._forget_radio()
            self._forget_radio = None
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        # Ours, not unsolicited: bleak's contract is no disconnected_callback for it.
        self._connection, self._peer = None, None
        if self._forget_radio is not None:
            self._forget_radio()
            self._forget_radio = None
        try:
            await asyncio.wait_for(connection.disconnect(), 5.0)
        except (core.BaseBumbleError, asyncio.TimeoutError, OSError) as exc:
            log.debug("%s: disconnect: %s", self.address, exc)

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise BleakError("bonding is not supported by twitchd's Bumble backend (twitchd sensors need none)")

    async def unpair(self) -> None:
        raise BleakError("bonding is not supported by twitchd's Bumble backend (twitchd sensors need none)")

    # -- GATT -----------------------------------------------------------------
    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError(f"not connected to {self.address}")
        return self._peer

    async def _gatt(self, operation: Awaitable[T]) -> T:
        try:
            return await operation
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # a real cancellation of the caller
            raise BleakError(f"the link to {self.address} dropped during a GATT request") from None
        except (core.BaseBumbleError, ATT_Error) as exc:
            raise BleakError(f"GATT request to {self.address} failed: {exc}") from exc

    async def read_gatt_char(self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False,
                             **kwargs: Any) -> bytearray:
        return bytearray(await self._gatt(self._require_peer().read_value(characteristic.obj)))

    async def read_gatt_descriptor(self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False,
                                   **kwargs: Any) -> bytearray:
        return bytearray(await self._gatt(self._require_peer().read_value(descriptor.obj)))

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: SizedBuffer,
                              response: bool) -> None:
        peer = self._require_peer()
        await self._gatt(peer.write_value(characteristic.obj, bytes(cast(bytes, data)), with_response=response))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: SizedBuffer) -> None:
        peer = self._require_peer()
        await self._gatt(peer.write_value(descriptor.obj, bytes(cast(bytes, data)), with_response=True))

    async def start_notify(self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback,
                           **kwargs: Any) -> None:
        proxy: CharacteristicProxy[bytes] = characteristic.obj
        await self._gatt(self._require_peer().subscribe(proxy, lambda value: callback(bytearray(value))))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        await self._gatt(self._require_peer().unsubscribe(characteristic.obj))
