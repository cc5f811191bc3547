"""A value as typed (in the panel, on the command line, in a file) turned into a setting's type;
errors name the setting."""

from __future__ import annotations

from typing import Any

from traitlets import Bool, Dict, Float, Int, List, TraitType, Unicode, Union

from giffusion_nb.choices import Choice
from giffusion_nb.errors import SettingsError
from giffusion_nb.frame_rate import FrameRate, fraction_value
from giffusion_nb.limits import as_float, as_int, check_text, parse_json_object, shown


def coerce_trait(name: str, trait: TraitType, value: Any) -> Any:
    """``value`` as trait ``trait`` of setting ``name`` holds it, or ``SettingsError``
    naming the setting: text read as a number, true/false, a list or JSON where needed."""
    if isinstance(trait, Choice):
        choice = trait.canonical(value)
        if choice is None:
            raise SettingsError(
                name, f"expected one of {', '.join(trait.values)}, got {shown(value)}"
            )
        return choice
    if isinstance(trait, Bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise SettingsError(name, f"expected true or false, got {shown(value)}")
    if isinstance(trait, Int):
        if value is None and trait.allow_none:
            return None
        if isinstance(value, str) and value.strip() == "" and trait.allow_none:
            return None
        return as_int(name, value)
    if isinstance(trait, FrameRate):  # fps: also a fraction such as 30000/1001
        fraction = fraction_value(value, name)
        return as_float(name, value) if fraction is None else fraction
    if isinstance(trait, Float):
        return as_float(name, value)
    if isinstance(trait, Union):  # strength, guidance, steps: a number or a key-frame string
        number = as_int if isinstance(trait.trait_types[0], Int) else as_float
        if isinstance(value, str):
            try:
                return number(name, value)
            except SettingsError:
                check_text(name, value)
                return value  # a key-frame string, checked by validation
        return number(name, value)
    if isinstance(trait, Unicode):
        if not isinstance(value, str):
            raise SettingsError(name, f"expected text, got {shown(value)}")
        check_text(name, value)
        return value
    if isinstance(trait, List):
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise SettingsError(name, f"expected a list of names, got {shown(value)}")
        for index, item in enumerate(value):
            check_text(name, item, what=f"item {index}")
        return value
    if isinstance(trait, Dict):
        return parse_json_object(name, value)
    raise TypeError(f"no coercion for setting {name}")
