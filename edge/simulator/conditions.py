"""Named scene conditions: what makes a drop-off point hard to watch, one effect per field.

A condition is a preset of effects (light, camera, people, items, bins) that ``binwatch
scenario --condition NAME`` renders and ``binwatch edge eval`` reports on, one row per
condition. Every effect is something a real camera at a real drop-off point meets: the
fields say how much of it a scene gets, and 0 (or ``False``) leaves it out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class Conditions:
    name: str
    # The camera and the light.
    light: float = 1.0  # overall light level: 1 daylight, about 0.3 an evening under a street lamp
    drift: float = 0.0  # amplitude of the slow swing of daylight (brightness and colour), a fraction
    exposure_jumps: float = 0.0  # auto-exposure steps per minute, each a sudden change of 15-40 % in gain
    warmth: float = 0.0  # colour shift towards red (a sodium or warm LED lamp at night), a fraction
    lamp: bool = False  # a street lamp lights the scene unevenly (evening)
    noise: float = 2.0  # sensor noise, standard deviation in grey levels at full light
    crf: int = 23  # H.264 constant rate factor of the video: higher, more compression
    shadows: bool = False  # low sun: people cast shadows on the floor and into the bins
    # People.
    passers: float = 0.1  # chance of a passer-by in each idle gap
    queue: float = 0.0  # chance that residents come in a queue (2-4, one right after another) instead of alone
    over_openings: float = 0.3  # share of passers-by who walk close to the bins, their heads over the openings
    bystanders: float = 0.0  # chance of somebody standing in front of a bin for a while, throwing nothing
    # Items.
    bags: float = 0.0  # share of items (not into the kitchen bin) thrown in a see-through bag
    quick: float = 0.0  # share of visits with a second drop into the same bin two or three seconds later
    multi: float = 0.0  # share of reaches that let go of two items at once
    # Bins.
    fill: float = 0.15  # how full the bins are at the start (share of their height)
    emptying: float = 0.0  # chance of a worker emptying a bin in each idle gap
    loads: float = 0.0  # chance of somebody tipping a sack of loose waste into a bin in each idle gap (it fills up)
    # The ground beside the bins.
    litter: float = 0.0  # chance of somebody leaving a bag or a box on the ground in each idle gap
    litter_cleared: float = 0.8  # share of that litter a worker takes away again later (25-70 s on)
    # Collection (Art. 18): a worker wheels a container in beside the row and empties bins into it.
    collection: float = 0.0  # chance of a collection in each idle gap (each bin is collected once at most)
    collection_mixed: float = 0.5  # share of collections that empty bins of several categories into one container

    def describe(self) -> dict:
        return asdict(self)


_DAYLIGHT = Conditions("daylight", drift=0.08, shadows=True, passers=0.2)

PRESETS: dict[str, Conditions] = {
    c.name: c
    for c in (
        Conditions("steady", noise=1.5, crf=20, passers=0.1),
        _DAYLIGHT,
        replace(_DAYLIGHT, name="bystanders", bystanders=0.35, passers=0.35, over_openings=0.6),
        replace(_DAYLIGHT, name="exposure", exposure_jumps=2.0),
        Conditions("evening", light=0.3, warmth=0.12, lamp=True, noise=4.0, crf=28, passers=0.2, over_openings=0.4),
        replace(_DAYLIGHT, name="bags", bags=0.6),
        replace(_DAYLIGHT, name="quick", quick=0.35, multi=0.2),
        replace(_DAYLIGHT, name="fill", fill=0.55, emptying=0.12),
        replace(_DAYLIGHT, name="queue", queue=0.5),
        replace(_DAYLIGHT, name="overflow", fill=0.6, loads=0.35, emptying=0.06),
        replace(_DAYLIGHT, name="litter", litter=0.25, bystanders=0.1, passers=0.3),
        replace(_DAYLIGHT, name="collection", fill=0.65, collection=0.3),
        replace(
            _DAYLIGHT,
            name="hard",
            exposure_jumps=1.5,
            passers=0.3,
            over_openings=0.5,
            bystanders=0.25,
            bags=0.3,
            quick=0.2,
            multi=0.1,
            fill=0.45,
            emptying=0.06,
            noise=3.0,
            crf=26,
        ),
    )
}
# What the README reports.
HARDER = (
    "bystanders",
    "exposure",
    "evening",
    "bags",
    "quick",
    "fill",
    "overflow",
    "litter",
    "queue",
    "collection",
    "hard",
)
STYLES = ("oblique", "top")  # the camera: above and in front of the bins, in perspective; or straight from above


def named(name: str) -> Conditions:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown condition {name!r}; known: {', '.join(PRESETS)}") from None
