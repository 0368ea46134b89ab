"""What `python app.py setup` tells the user: the summary of a run that did its work, the numbers to
choose from, and the dashboard pages it sends them to. Every value from the account APIs in it has
been checked for its shape, or is escaped."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vonage_numbers import OwnedNumber

from stream_audio.log_text import shown

APPLICATION_NAME = "Stream audio into a phone call"
# Each call this app places names its own answer and event URLs, so without BASE_URL the
# application's own are only placeholders: nothing ever fetches them for an outbound call.
PLACEHOLDER_URL = "https://example.com"
KEYS_PAGE = "https://dashboard.nexmo.com/settings"
BUY_NUMBERS_PAGE = "https://dashboard.nexmo.com/buy-numbers"
APPLICATIONS_PAGE = "https://dashboard.nexmo.com/applications"
AGAIN = "then run `make setup` again"
MOST_NUMBERS_NAMED = 10  # an account with more is told how many, not every one


@dataclass(frozen=True)
class Outcome:
    """What one run of setup did."""

    application_id: str
    number: str
    created: bool  # a new application, its key saved
    linked: bool  # the number was linked now, not before
    was_linked_to: str | None  # the application the number left, as Vonage listed it, if any
    written: list[str]  # the .env names that changed


def summary(outcome: Outcome, key_path: Path, env_path: Path, base_url: str | None, to_number_set: bool) -> str:
    """What the run did, then what is left for the user to do, in lines."""
    if outcome.created:
        urls = (
            f"its webhooks point at {base_url}"
            if base_url
            else (
                f"its webhook URLs are placeholders ({PLACEHOLDER_URL}): each call this app places gives Vonage "
                "its own, from BASE_URL"
            )
        )
        lines = [
            f'Created Voice application "{APPLICATION_NAME}" ({outcome.application_id}); {urls}.',
            f"Saved its private key to {key_path}, readable by you alone.",
        ]
    else:
        lines = [
            f"Application {outcome.application_id} exists and its private key is at {key_path}: no new application."
        ]
    if not outcome.linked:
        lines.append(f"{outcome.number} was already linked to the application.")
    elif outcome.was_linked_to:
        lines.append(
            f"Linked {outcome.number} to the application, away from application {shown(outcome.was_linked_to)}."
        )
    else:
        lines.append(f"Linked {outcome.number} to the application.")
    lines.append(
        f"Wrote {', '.join(outcome.written)} into {env_path}."
        if outcome.written
        else f"{env_path} already had every value."
    )
    if not (outcome.created or outcome.linked or outcome.written):
        lines.insert(0, "Already set up: nothing was changed.")
    todo = []
    if not to_number_set:
        todo.append("set TO_NUMBER in .env to the number to ring")
    if not base_url:
        todo.append("run `ngrok http 3000` and set BASE_URL in .env to the https URL it prints")
    todo.append("run `make run` and open the link it prints")
    return "\n".join([*lines, "Left to do:", *(f"  - {step}" for step in todo)])


def choices(voice: list[OwnedNumber], all_listed: bool) -> str:
    """The numbers that can make voice calls, and what to do about them, as sentences."""
    among = "" if all_listed else " among the first it lists"
    if not voice:
        return (
            f"This account has no number that can make voice calls{among}: buy one with the Voice feature at "
            f"{BUY_NUMBERS_PAGE}, {AGAIN}."
        )
    if len(voice) == 1 and all_listed:
        return f"Its one number that can make voice calls is {voice[0].msisdn}: set VONAGE_NUMBER to it, {AGAIN}."
    named = ", ".join(n.msisdn or "" for n in voice[:MOST_NUMBERS_NAMED])
    more = f" and {len(voice) - MOST_NUMBERS_NAMED} more" if len(voice) > MOST_NUMBERS_NAMED else ""
    return (
        f"This account has {len(voice)} numbers that can make voice calls{among}: {named}{more}. "
        f"Set VONAGE_NUMBER in .env to the one to call from, {AGAIN}."
    )


def features(number: OwnedNumber) -> str:
    """A number's features as Vonage listed them, escaped."""
    return shown(", ".join(number.features or ["none"]))
