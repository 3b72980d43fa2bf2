"""A function's recursive loop detection setting (Get/PutFunctionRecursionConfig, the console)."""
from __future__ import annotations

from ..errors import InvalidParameterValue
from ..models import Function, RecursiveLoop


def function_set_recursive_loop(function: Function, value: object) -> Function:
    """"Terminate" (the default) stops a loop through this function after 16 rounds; "Allow" does not.

    The setting is read when each event is about to run, so a loop under way stops at its
    next round once it is set back to Terminate. It is not part of a version, as on AWS.
    """
    function.recursive_loop = clean_recursive_loop(value)
    function.save(update_fields=["recursive_loop"])
    return function


def clean_recursive_loop(value: object) -> str:
    if value is None:
        raise InvalidParameterValue(
            "1 validation error detected: Value null at 'recursiveLoop' failed to satisfy constraint: "
            "Member must not be null", field="RecursiveLoop")
    if value not in RecursiveLoop.values:
        raise InvalidParameterValue(
            f"1 validation error detected: Value '{value}' at 'recursiveLoop' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(RecursiveLoop.values)}]", field="RecursiveLoop")
    return str(value)
