"""The message accounting of a scenario (duisconf.accounting): what DUIS itself owes (one response per
acknowledged request, one outcome alert per future-dated one), what rules/expected_messages.toml
declares per SRV or physical action, and everything else unexpected; the rules file is checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from duisconf.accounting import Sent, account, load_expected
from duisconf.errors import InvalidInput

R1, R2 = "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A2:1", "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:2"
CHF = "00-DB-12-34-56-78-90-A2"


def message(seq: int, kind: str, code: str, request_id: str | None = None, device: str | None = None) -> dict:
    return {"seq": seq, "kind": kind, "code": code, "request_id": request_id, "device": device}


def test_declared_alerts_of_an_acknowledged_srv_and_its_one_response_are_expected():
    sent = [Sent("8.11", R1, "I99")]
    result = account([], [message(1, "response", "I0", R1), message(2, "device-alert", "8F12", device=CHF),
                          message(3, "dcc-alert", "N24")], [], sent)
    assert result.counts == {"claimed": 0, "expected but not asserted": 3, "unexpected": 0}
    assert "conf V" in result.expected[0]["because"] and "SRV 8.11, conf I" in result.expected[1]["because"]


def test_a_second_response_an_alert_of_another_srv_and_a_refused_request_s_response_are_unexpected():
    sent = [Sent("8.11", R1, "I99"), Sent("4.1.1", R2, "E2")]
    claimed = [message(1, "response", "I0", R1)]
    result = account(claimed, [message(2, "response", "I0", R1), message(3, "device-alert", "8F70", device=CHF),
                               message(4, "response", "I0", R2), message(5, "response", "I0", "X:Y:3")], [], sent)
    assert result.counts["unexpected"] == 4 and result.counts["claimed"] == 1
    reasons = [m["because"] for m in result.unexpected]
    assert reasons[0] == f"a second response for {R1}"
    assert reasons[1].startswith("no step asserted it and no rule expects it for the requests sent (SRVs 8.11)")
    assert reasons[2] == f"a response for {R2}, which the target refused (E2)"
    assert reasons[3] == "RequestID X:Y:3 is no request this scenario sent"
    assert "UNEXPECTED" in result.table() and result.line() == "1 claimed, 0 expected but not asserted, 4 unexpected"


def test_future_dated_outcome_physical_actions_and_findings():
    sent = [Sent("1.1.1", R2, "I99", future_dated=True)]
    leftovers = [message(1, "response", "I0", R2), message(2, "future-dated-alert", "8F66", R2),
                 message(3, "device-alert", "8183", device=CHF)]
    assert account([], leftovers, [], sent, actions={"power-up"}).counts["unexpected"] == 0
    without_action = account([], leftovers, [("duplicate of message #1", message(4, "response", "I0", R2))], sent)
    assert [m["because"] for m in without_action.unexpected][-1] == "duplicate of message #1"
    assert without_action.counts["unexpected"] == 2  # the 8183 nobody arranged, and the duplicate


def test_every_declared_row_is_well_formed():
    rows = load_expected()
    assert rows and all(r.conf in "VIU" and r.source and r.codes for r in rows)


@pytest.mark.parametrize(("row", "named"), [
    ('kind = "alert"\ncode = "8F12"\nsrv = ["8.11"]\nconf = "I"\nsource = "x"', "kind 'alert'"),
    ('kind = "device-alert"\ncode = "8F12"\nsrv = ["8.11"]\nconf = "maybe"\nsource = "x"', "conf 'maybe'"),
    ('kind = "device-alert"\ncode = "8F12"\nconf = "I"\nsource = "x"', "give srv"),
    ('kind = "device-alert"\ncode = "8F12"\nsrv = ["8.11"]\nconf = "I"', "source is required"),
])
def test_a_malformed_row_is_named(tmp_path: Path, row: str, named: str):
    path = tmp_path / "expected.toml"
    path.write_text(f"[[expected]]\n{row}\n")
    with pytest.raises(InvalidInput, match=rf"expected.toml: \[\[expected\]\] #1: {named}"):
        load_expected(str(path))
