"""`duisconf check-target` for a user-system target: is the party's system ready to be judged?

Nothing state-changing reaches their system: the emulated DCC is started and stopped on its address
(their certificates load and the port is free), the driver is probed (the HTTP trigger answers a GET,
the command exists; a person is assumed), and their Receive Response Service is sent an empty POST,
which it must answer — refusing it (4xx) as it refuses anything that is not a DCC-signed DUIS message.
"""

from __future__ import annotations

import requests

from ..check_target import Check
from ..errors import DuisConfError
from ..targets import Target
from .drivers import driver_for


def user_system_checks(target: Target) -> list[Check]:
    from .judge import Judge

    checks = []
    try:
        judge = Judge(target).start()
        url = judge.url
        judge.stop()
        organisations = ", ".join(f"{eui} ({'/'.join(o.roles)})" for eui, o in target.user_system.organisations.items())
        checks.append(Check("emulated DCC", True, f"listens at {url} trusting {organisations}"))
    except (DuisConfError, OSError) as exc:
        return checks + [Check("emulated DCC", False, str(exc))]
    driver = driver_for(target.user_system.driver)
    try:
        checks.append(Check(f"driver ({driver.kind})", True, driver.probe()))
    except DuisConfError as exc:
        checks.append(Check(f"driver ({driver.kind})", False, str(exc)))
    checks.append(receive_address(target.user_system.receive_url))
    return checks


def receive_address(url: str) -> Check:
    try:
        answer = requests.post(url, data=b"", headers={"Content-Type": "application/xml"}, timeout=10)
    except requests.RequestException as exc:
        return Check("receive address", False, f"{url} did not answer ({type(exc).__name__})")
    if 400 <= answer.status_code < 500:
        return Check("receive address", True, f"{url} answers and refuses an empty message (HTTP {answer.status_code})")
    return Check("receive address", False, f"{url} answered an empty message with HTTP {answer.status_code}; "
                                           "anything but a valid DCC-signed message must be refused with a 4xx")
