"""What a campaign does with answering-machine detection: listen or not, and then what.

- `enabled`: run AMD on every answered call (the far end's first seconds).
- `wait`: the flow waits for the verdict (synchronous AMD; a webhook then gets
  `AnsweredBy`). By default it does not: the flow's greeting starts on answer and
  AMD keeps listening (Twilio's asynchronous AMD), so a person never hears
  silence while a machine decides.
- `on_machine`: `hangup`; `message`: stop the flow, wait for the greeting's beep
  (or its end, when no beep comes within `max_beep_wait_ms`) and play
  `message_flow`; `retry_later`: hang up and try the lead again, as not reached.
- `on_human`: `continue` the flow, or hand the call to an `agent`.
- `unknown_as`: what an undecided call counts as (`human`, the safe default: a
  person hung up on counts as an abandoned call under FTC and Ofcom rules).
- `uk_rule`: a number AMD judged a machine is not called again within 24 hours
  (Ofcom's rule, when no agent is guaranteed for the next call).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from media.amd import AmdSettings

ON_MACHINE = ("hangup", "message", "retry_later")
ON_HUMAN = ("continue", "agent")
UNKNOWN_AS = ("human", "machine")
UK_COOLDOWN_S = 24 * 3600.0


class AnsweringPolicyError(ValueError):
    """A combination that cannot work (names the setting)."""


@dataclass(frozen=True)
class AnsweringPolicy:
    enabled: bool = False
    wait: bool = False
    on_machine: str = "hangup"
    message_flow: str | None = None  # with on_machine = "message"
    max_beep_wait_ms: int = 20_000
    on_human: str = "continue"
    unknown_as: str = "human"
    uk_rule: bool = False
    detector: AmdSettings = field(default_factory=AmdSettings)

    def __post_init__(self) -> None:
        for name, allowed in (
            ("on_machine", ON_MACHINE),
            ("on_human", ON_HUMAN),
            ("unknown_as", UNKNOWN_AS),
        ):
            if getattr(self, name) not in allowed:
                raise AnsweringPolicyError(
                    f"{name} must be one of {', '.join(allowed)} (got {getattr(self, name)!r})"
                )
        if self.on_machine == "message" and not self.message_flow:
            raise AnsweringPolicyError("on_machine = message needs a message_flow to leave")
        if self.max_beep_wait_ms <= 0:
            raise AnsweringPolicyError("max_beep_wait_ms must be positive")

    @property
    def retries_machines(self) -> bool:
        return self.enabled and self.on_machine == "retry_later"

    @property
    def machine_cooldown_s(self) -> float:
        return UK_COOLDOWN_S if self.enabled and self.uk_rule else 0.0
