"""A DUIS session: the target, its client, our Receive Response Service, and (on the emulator target)
the embedded DCC emulator with its control plane. Used by the pytest plugin (one per process) and by
`duisconf check-target`."""

from __future__ import annotations

import dataclasses
import os
import time
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def recording_client_class():
    """DUISClient, plus every exchange it completed kept in order, so each scenario can account for the
    messages its requests caused (duisconf.accounting). Made on first use: the pytest plugin imports this
    module in every run, and the client's imports are heavy."""
    from .client import DUISClient

    class RecordingClient(DUISClient):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.sent: list = []

        def send(self, *args, **kwargs):
            exchange = super().send(*args, **kwargs)
            self.sent.append(exchange)
            return exchange

        def send_variant(self, *args, **kwargs):
            exchange = super().send_variant(*args, **kwargs)
            self.sent.append(exchange)
            return exchange

        def take_sent(self) -> list:
            """The exchanges since the last call (one scenario's), forgotten here."""
            sent, self.sent = self.sent, []
            return sent

    return RecordingClient


class DUISSession:
    """What one test process talks through: the target, its client, and our Receive Response Service.

    On the emulator target every process (each xdist worker) runs its own embedded emulator and
    receiver: nothing crosses between workers, so no routing is needed and scenario state never leaks.
    On a kit or a DCC test environment the counter authority is the durable one (its state directory),
    because the target remembers every counter it has seen. An embedded emulator starts fresh in each
    process and remembers nothing, so its counters come from a throwaway directory of this session: the
    user's durable counters are neither needed nor pushed ahead (each SRV 2.2 moves one ~50 days) by
    runs against the emulator.
    """

    def __init__(self, target_name: str, *, router_port: int | None = None, worker: str = "main"):
        """`router_port`: a ResponseRouter (duisconf.routing) on this host owns the target's receive
        address; this process then listens on a loopback port of its own and registers with it."""
        from .counters import default_authority
        from .duis.schema import load_schema
        from .keystore import zaz1
        from .receiver import ReceiveResponseService
        from .signing import response_trust
        from .targets import load_target

        self.target = load_target(target_name)
        self.schema = load_schema(self.target.schema)
        self.keystore = zaz1()
        for eui, key in self.target.keys.items():  # a DCC test environment's own signing keys
            self.keystore.add_pem(key.certificate, key.private_key, eui=eui)
        receiver = self.target.receiver
        self.router = None
        if router_port and self.target.kind != "emulator":
            from .routing import RouterClient

            self.receiver = ReceiveResponseService(response_trust(self.keystore), self.schema, host="127.0.0.1",
                                                   port=0, path=receiver.path).start()
            self.router = RouterClient(router_port, worker)
            self.router.announce(self.receiver.url)
        else:
            self.receiver = ReceiveResponseService(response_trust(self.keystore), self.schema, host=receiver.host,
                                                   port=receiver.port, path=receiver.path,
                                                   public_url=receiver.public_url).start()
        self.emulator = self.control = None
        base_url = self.target.base_url
        if self.target.kind == "emulator":
            from .emulator.control import EmulatorControl
            from .emulator.server import DCCEmulator

            self.emulator = DCCEmulator(port=self.target.emulator_port, receive_url=self.receiver.url,
                                        latency=self.target.emulator_latency, schema=self.schema,
                                        control=True).start()
            base_url = self.emulator.url
            if not self.target.smki_base_url:  # certificates come from its SMKI interface, as from a kit's
                self.target = dataclasses.replace(self.target, smki_base_url=self.emulator.smki_url)
            self.control = EmulatorControl(base_url)  # arranging preconditions only; outcomes are read via DUIS
        self.base_url = base_url
        self._scratch_counters = None
        if self.emulator is not None:
            import tempfile

            from .counters import CounterAuthority

            self._scratch_counters = tempfile.TemporaryDirectory(prefix="duisconf-emulator-counters-")
            # Thrown away with the session, so syncing it to disk buys nothing (and cost ~1 ms a request).
            counters = CounterAuthority(Path(self._scratch_counters.name), durable=False)
        else:
            counters = default_authority()
        tls = (str(self.target.tls_client_certificate), str(self.target.tls_client_key)) \
            if self.target.tls_client_certificate and self.target.tls_client_key else None
        self.client = recording_client_class()(base_url, keystore=self.keystore, trust=response_trust(self.keystore),
                                 schema=self.schema, counters=counters,
                                 timeout=self.target.timeouts.acknowledgement,
                                 verify_tls=str(self.target.tls_ca) if self.target.tls_ca else True,
                                 client_certificate=tls,
                                 on_request_id=self.router.expect if self.router else None,
                                 loopback=self.emulator is not None)  # in this process: duisconf.client.LoopbackHTTP

    @property
    def receive_path_proven(self) -> bool:
        """This run has received at least one schema-valid, validly signed message from the target (or
        `check-target`'s 4.1.1 round trip did, in its own run). Until then a required message that does
        not arrive is an error of the set-up, not a fail of the target."""
        return self.receiver.proven

    @property
    def receive_path(self) -> str:
        """How the receive path stands, for the evidence."""
        return f"proven: {self.receiver.proven_by}" if self.receiver.proven else f"not proven yet ({self.receiver.url})"

    def settle(self, seconds: float) -> None:
        """Let `seconds` of target time pass before looking at what arrived: on the emulator its virtual
        clock moves on and we wait only for its outbox to deliver what fell due; a real target is waited
        for in real time."""
        if self.control is not None:
            self.control.settle(seconds)
        else:
            time.sleep(seconds)

    @property
    def lease_namespace(self) -> str:
        """Devices are exclusive per DCC: a kit's URL, or this process's own embedded emulator."""
        return f"emulator:{os.getpid()}:{self.base_url}" if self.emulator is not None else self.base_url

    def device_models(self) -> dict[str, tuple[str, str]]:
        """Device type -> (model, firmware) for the report's environment, from the emulator's inventory.
        A kit's figures are not known before the run: its scenarios read them with 8.2 / 11.2."""
        if self.emulator is not None:
            found: dict[str, tuple[str, str]] = {}
            for kind, eui in self.target.devices.items():
                device = self.emulator.inventory.device(eui)
                if device is not None:
                    found[kind] = (f"{device.manufacturer} {device.model}", device.firmware_version)
            return found
        return {}

    def close(self) -> None:
        if self.client.loopback is not None:
            self.client.loopback.close()
        if self.emulator is not None:
            self.emulator.stop()
        self.receiver.stop()
        if self._scratch_counters is not None:
            self._scratch_counters.cleanup()
