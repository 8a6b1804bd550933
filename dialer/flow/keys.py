"""The keys one `<Gather>` collects, with Twilio's rules, on a clock the caller passes in.

- Keys pressed while the prompts play count (and the shell stops the prompts: barge-in).
- The `timeout` runs from the end of the prompts, and again after each key.
- `finishOnKey` ends the input and is not part of it; `numDigits` ends it when reached.
"""

from __future__ import annotations


class DigitCollector:
    def __init__(self, num_digits: int | None, timeout: float, finish_on_key: str) -> None:
        self.num_digits = num_digits
        self.timeout = timeout
        self.finish_on_key = finish_on_key
        self.digits = ""
        self.done = False
        self.deadline: float | None = None  # no timer while the prompts play

    def prompts_finished(self, now: float) -> None:
        if not self.done and self.deadline is None:
            self.deadline = now + self.timeout

    def key(self, digit: str, now: float) -> bool:
        """Take one key; True once the input is complete."""
        if self.done:
            return True
        if self.finish_on_key and digit == self.finish_on_key:
            self.done = True
        else:
            self.digits += digit
            self.done = self.num_digits is not None and len(self.digits) >= self.num_digits
        self.deadline = None if self.done else now + self.timeout
        return self.done

    def expire(self, now: float) -> bool:
        """True when the timeout has run out (the input is complete as it is)."""
        if not self.done and self.deadline is not None and now >= self.deadline:
            self.done = True
        return self.done
