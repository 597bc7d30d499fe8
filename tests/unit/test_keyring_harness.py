"""The tests' keyring helper survives the system's gnome-keyring being D-Bus-activated first.

On a machine with gnome-keyring installed, any Secret Service call made while no daemon owns
the name activates the system daemon; here it has no login collection and can only prompt,
without a display, so every store fails with "Prompt dismissed" (CI stop 21: 21 tests after
one such call). The scenario runs in its own D-Bus session, so nothing else is touched.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.faults.harness import ROOT

SCENARIO = textwrap.dedent("""
    import sys, tempfile
    from pathlib import Path
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection
    from tests.faults import harness

    bus = DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus",
                      interface="org.freedesktop.DBus")
    with open_dbus_connection(bus="SESSION") as conn:
        conn.send_and_get_reply(new_method_call(bus, "StartServiceByName", "su",
                                                ("org.freedesktop.secrets", 0)), timeout=20)
    assert harness.secret_service_up(), "the system daemon was not activated"
    import keyring
    with harness.secret_service(Path(tempfile.mkdtemp())):
        keyring.set_password("seatmate-test", "agent", "s3cret")
        assert keyring.get_password("seatmate-test", "agent") == "s3cret"
    print("stored through the replacement")
""")


def test_an_activated_prompt_only_keyring_is_replaced_by_a_working_one() -> None:
    done = subprocess.run(["dbus-run-session", "--", sys.executable, "-c", SCENARIO], cwd=ROOT,
                          capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "stored through the replacement" in done.stdout
