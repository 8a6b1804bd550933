"""What the far ends say: people answering, voicemail greetings, carrier announcements.

Each function picks with the clip's `random.Random`, so a seed gives the same words.
"""

from __future__ import annotations

import random
from typing import Final

FIRST_NAMES: Final = (
    "Dave", "Maria", "Tom", "Julia", "James", "Priya", "Kevin", "Sarah", "Ahmed", "Linda",
    "Carlos", "Emma", "Robert", "Mei", "Steve", "Olivia", "Daniel", "Grace", "Mark", "Nina",
    "Peter", "Rachel", "Sam", "Helen", "Brian", "Karen", "Luis", "Anna", "Gary", "Chloe",
)  # fmt: skip
SURNAMES: Final = (
    "Smith", "Johnson", "Garcia", "Miller", "Davis", "Martinez", "Wilson", "Anderson",
    "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Harris", "Clark", "Lewis",
)  # fmt: skip
COMPANIES: Final = (
    "Riverside Dental", "Northgate Insurance", "Bright Star Realty", "the Grand Hotel",
    "Summit Plumbing", "Oakwood Veterinary Clinic", "Metro Auto Repair", "Blue Harbor Travel",
    "Greenfield Accounting", "Lakeside Pharmacy",
)  # fmt: skip

SHORT_ANSWERS: Final = (
    "Hello?", "Hello.", "Hi.", "Yeah?", "Yes?", "Hello, who is this?", "Hey.", "Yep?",
    "Hi there.", "Hello, yes?", "Speaking.", "Hiya.", "Good morning.", "Yes, hello?", "Hello!",
)  # fmt: skip
NAME_ANSWERS: Final = (
    "Hi, this is {name}.", "Hello, {name} speaking.", "Yeah, this is {name}.", "{name} here.",
    "Hello, {surname} residence.", "Hi, {name} speaking, who's calling?",
    "Hello, this is {name}, who's this?", "{name} speaking.",
)  # fmt: skip
# A business answer as people rattle it off: 3-5 s (the issue's own example is the first).
# Longer ones ("...customer service, my name is..., how may I help you today?") come out
# at 6-8 s from these voices, longer than anyone answers a phone.
LONG_ANSWERS: Final = (
    "Good afternoon, {surname} and Partners, {name} speaking.",
    "Thank you for calling {company}, this is {name}.",
    "Good morning, {company}, {name} speaking, how can I help?",
    "{company} customer service, {name} speaking.",
    "Hi, {company}, this is {name} in accounts.",
    "Good evening, {company}, {name} speaking.",
)
SECOND_HELLOS: Final = (
    "Hello?", "Hello? Anyone there?", "Hello? Can you hear me?", "Hello? Who is this?", "Hello??",
)  # fmt: skip

GREETING_OPENINGS: Final = (
    "Hi, you've reached {name}.", "Hello, this is {name}.", "Hey, it's {name}.",
    "You have reached the voicemail of {name} {surname}.", "Hi, this is {name} at {company}.",
    "Thank you for calling {company}.", "Hello, you've reached {name} and {name2}.",
    "Hi there, you've reached the {surname} family.",
)  # fmt: skip
GREETING_MIDDLES: Final = (
    "I can't come to the phone right now.", "I'm not available to take your call.",
    "Sorry I missed your call.", "We're not home right now.",
    "I'm either on the other line or away from my desk.",
    "I'm out of the office until Monday.", "We can't get to the phone at the moment.",
)  # fmt: skip
GREETING_EXTRAS: Final = (
    "If this is urgent, please call my mobile at {digits}.",
    "Our office hours are Monday to Friday, nine to five.",
    "If you need immediate assistance, please contact reception by pressing zero.",
    "You can also reach me by email at {name_lower} at {surname_lower} dot com.",
    "I check my messages regularly, so you'll hear back from me soon.",
    "For appointments, please call back during business hours.",
    "If you're calling about the delivery, please leave your order number.",
)  # fmt: skip
GREETING_CLOSINGS: Final = (
    "Please leave a message after the tone.",
    "Leave your name and number and I'll call you back.",
    "Please leave your name, number, and a brief message, and I'll get back to you as soon "
    "as possible.",
    "Leave a message after the beep.", "Leave a message and I'll get back to you. Thanks!",
    "Please leave a message and have a great day.",
)  # fmt: skip
SHORT_GREETINGS: Final = (
    "Leave a message.", "Leave a message after the tone.", "Please leave a message.",
    "{name}, leave a message.", "Hi, it's {name}. Leave a message.", "You know what to do.",
    "{name}. Message.",
)  # fmt: skip
CARRIER_ANNOUNCEMENTS: Final = (
    "The person you are calling is not available. Please leave a message after the tone.",
    "The wireless customer you are calling is not available. At the tone, please record your "
    "message. When you have finished recording, you may hang up.",
    "Your call has been forwarded to an automatic voice message system. {digits} is not "
    "available. At the tone, please record your message.",
    "The subscriber you have dialed is not available. Please leave a message after the beep.",
    "Welcome to the voice mail service. The mailbox of {digits} is not available. Please leave "
    "a message after the tone.",
    "The number you have called, {digits}, is unavailable. Please leave your message after the "
    "tone. When you are finished, hang up, or press pound for more options.",
)
NO_BEEP_ENDINGS: Final = (
    "The mailbox is full and cannot accept any messages at this time. Goodbye.",
    "The person you are trying to reach has a voice mailbox that has not been set up yet. Goodbye.",
)
BABBLE_SENTENCES: Final = (
    "So I told him we would meet at the station around six.",
    "Did you see the game last night, it was unbelievable.",
    "Can you pass me the menu, I think I'll have the soup.",
    "We should really book the tickets before they sell out.",
    "My sister is moving to Chicago next month for her new job.",
    "The weather has been terrible all week, hasn't it.",
    "I'm not sure, let me check my calendar and get back to you.",
    "They finally opened the new bakery on the corner.",
)
TV_SENTENCES: Final = (
    "And in tonight's top story, the city council has approved the new budget.",
    "Temperatures will drop overnight with a chance of showers by morning.",
    "Stay tuned, after the break we'll meet the winner of this week's challenge.",
    "The home team scores again, and the crowd is on its feet.",
    "Call now and get a second set absolutely free, just pay shipping.",
)


def _fill(template: str, rng: random.Random) -> str:
    name, name2 = rng.sample(FIRST_NAMES, 2)
    surname = rng.choice(SURNAMES)
    digits = " ".join(str(rng.randrange(10)) for _ in range(7))
    return template.format(
        name=name,
        name2=name2,
        surname=surname,
        company=rng.choice(COMPANIES),
        digits=f"{digits[:5]}, {digits[6:]}",
        name_lower=name.lower(),
        surname_lower=surname.lower(),
    )


def short_answer(rng: random.Random) -> str:
    return rng.choice(SHORT_ANSWERS)


def name_answer(rng: random.Random) -> str:
    return _fill(rng.choice(NAME_ANSWERS), rng)


def long_answer(rng: random.Random) -> str:
    return _fill(rng.choice(LONG_ANSWERS), rng)


def any_short_answer(rng: random.Random) -> str:
    """What a person in noise or a late one says: a hello or their name."""
    return short_answer(rng) if rng.random() < 0.6 else name_answer(rng)


def second_hello(rng: random.Random) -> str:
    return rng.choice(SECOND_HELLOS)


def greeting(rng: random.Random, *, extras: int = 0, middles: int = 1) -> str:
    """A personal voicemail greeting: an opening, `middles` excuses, `extras`, a closing."""
    parts = [rng.choice(GREETING_OPENINGS), *rng.sample(GREETING_MIDDLES, middles)]
    parts += rng.sample(GREETING_EXTRAS, extras)
    parts.append(rng.choice(GREETING_CLOSINGS))
    return " ".join(_fill(part, rng) for part in parts)


def short_greeting(rng: random.Random) -> str:
    return _fill(rng.choice(SHORT_GREETINGS), rng)


def carrier_announcement(rng: random.Random) -> str:
    return _fill(rng.choice(CARRIER_ANNOUNCEMENTS), rng)


def no_beep_greeting(rng: random.Random) -> str:
    """A greeting after which nothing sounds: a mailbox that is full or not set up, or one
    that records after the words without a tone."""
    if rng.random() < 0.3:
        return _fill(rng.choice(NO_BEEP_ENDINGS), rng)
    return greeting(rng, extras=rng.randrange(2))
