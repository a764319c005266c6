"""Dashboard sessions: signed with a key derived from the token, so any instance checks them
and none can be forged, stretched or carried to a stack with another token."""

from __future__ import annotations

from lightflow_web.sessions import Sessions


def test_a_session_holds_until_it_expires() -> None:
    sessions = Sessions("the-token", lifetime_s=3600)
    session = sessions.new(now=1_000)
    assert sessions.valid(session, now=1_000)
    assert sessions.valid(session, now=4_599)
    assert not sessions.valid(session, now=4_601)
    assert "the-token" not in session


def test_another_instance_with_the_token_accepts_it_and_no_other_does() -> None:
    session = Sessions("the-token", 3600).new(now=1_000)
    assert Sessions("the-token", 60).valid(session, now=1_000)
    assert not Sessions("another-token", 3600).valid(session, now=1_000)


def test_a_changed_or_malformed_session_is_refused() -> None:
    sessions = Sessions("the-token", 3600)
    expiry, mac = sessions.new(now=1_000).split(".")
    assert not sessions.valid(f"{int(expiry) + 10_000}.{mac}", now=1_000)  # stretched
    for bad in ("", ".", "abc.def", f"{expiry}.", "9" * 40 + ".x", f"{expiry}.{mac}x"):
        assert not sessions.valid(bad, now=1_000), bad
    assert sessions.token_matches("the-token")
    assert not sessions.token_matches("the-token ")
