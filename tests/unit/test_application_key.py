"""The new application's private key as setup saves it: only ever the RSA key it checked, written
afresh, whatever came around it in Vonage's answer. Every key setup refuses, over real HTTPS, is in
tests/integration/test_setup_answer_shapes.py."""

from __future__ import annotations

from stream_audio.application_key import checked_private_key
from tools.credentials import key_pair


def test_a_sound_key_is_saved_as_vonage_gave_it():
    private_pem, public_pem = key_pair()

    assert checked_private_key(private_pem, public_pem) == private_pem.encode()


def test_a_nul_or_text_around_the_key_is_never_saved_with_it():
    private_pem, public_pem = key_pair()

    for padded in (f"{private_pem}\x00", f"Your key:\n{private_pem}\x00\nKeep it safe"):
        assert checked_private_key(padded, public_pem) == private_pem.encode()
