"""HTTP APIs (API Gateway's HTTP API): APIs, their routes, and which route a request takes."""
from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from ..arns import alias_exists, is_latest, is_version, version_exists
from ..errors import InvalidParameterValue, ResourceConflict, ResourceNotFound
from ..models import Account, Function, HttpApi, HttpRoute
from ..validators import validate_cors

DEFAULT_ROUTE = "$default"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
# A literal segment: the characters API Gateway accepts in a resource path.
LITERAL_RE = re.compile(r"^[A-Za-z0-9._~\-:@!$&'()*+,;=%]+$")
VARIABLE_RE = re.compile(r"^\{([A-Za-z0-9._\-]+)(\+?)\}$")


@dataclass(frozen=True)
class RouteKey:
    method: str  # "" for $default
    segments: tuple[str, ...]  # literals, or "{name}" / "{name+}"

    @property
    def greedy(self) -> bool:
        return bool(self.segments) and self.segments[-1].endswith("+}")

    def shape(self) -> tuple[str, tuple[str, ...]]:
        """What two colliding routes share: the method and the path with variables unnamed."""
        return self.method, tuple("{+}" if s.endswith("+}") else "{}" if s.startswith("{") else s
                                  for s in self.segments)

    def rank(self) -> tuple:
        """Sorts the most specific route first: literal segments over variables, longer over
        shorter, anything over a greedy variable, a method over ANY, $default last."""
        if not self.method:
            return (2,)
        kinds = tuple(1 if s.startswith("{") else 0 for s in self.segments)
        return (1 if self.greedy else 0, kinds, -len(self.segments), self.method == "ANY")


def _invalid(route_key: str, reason: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Invalid route key {route_key!r}: {reason}", field="RouteKey")


def parse_route_key(route_key: str) -> RouteKey:
    """Check a route key as API Gateway does: "$default" or "<METHOD> /path/{var}/{greedy+}"."""
    if route_key == DEFAULT_ROUTE:
        return RouteKey("", ())
    if not isinstance(route_key, str) or " " not in route_key:
        raise _invalid(route_key, 'expected "$default" or "<METHOD> <path>", for example "GET /items/{id}".')
    method, path = route_key.split(" ", 1)
    if method not in METHODS:
        raise _invalid(route_key, f"the method must be one of {', '.join(METHODS)}.")
    if not path.startswith("/"):
        raise _invalid(route_key, "the path must start with '/'.")
    if path == "/":
        return RouteKey(method, ())
    segments = tuple(path[1:].split("/"))
    names: set[str] = set()
    for index, segment in enumerate(segments):
        if segment == "":
            raise _invalid(route_key, "the path has an empty segment.")
        if match := VARIABLE_RE.match(segment):
            name, greedy = match.groups()
            if greedy and index != len(segments) - 1:
                raise _invalid(route_key, "a greedy path variable {name+} must be the last segment.")
            if name in names:
                raise _invalid(route_key, f"the path variable {name} appears twice.")
            names.add(name)
        elif "{" in segment or "}" in segment or not LITERAL_RE.match(segment):
            raise _invalid(route_key, f"the path segment {segment!r} is not valid.")
    return RouteKey(method, segments)


def match_path(key: RouteKey, path_segments: list[str]) -> dict[str, str] | None:
    """The path parameters if the route's path matches, else None."""
    params: dict[str, str] = {}
    for index, segment in enumerate(key.segments):
        if segment.endswith("+}"):
            rest = path_segments[index:]
            if not rest or rest == [""]:
                return None
            params[segment[1:-2]] = "/".join(rest)
            return params
        if index >= len(path_segments):
            return None
        value = path_segments[index]
        if segment.startswith("{"):
            if value == "":
                return None
            params[segment[1:-1]] = value
        elif segment != value:
            return None
    return params if len(path_segments) == len(key.segments) else None


def route_for(routes: list[HttpRoute], method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
    """The route a request takes, with its path parameters, by API Gateway's precedence."""
    segments = [] if path in ("", "/") else path[1:].split("/")
    candidates = []
    for route in routes:
        key = parse_route_key(route.route_key)
        if not key.method:
            candidates.append((key.rank(), route, {}))
        elif key.method in (method, "ANY") and (params := match_path(key, segments)) is not None:
            candidates.append((key.rank(), route, params))
    if not candidates:
        return None
    _, route, params = min(candidates, key=lambda c: c[0])
    return route, params


# --- APIs ------------------------------------------------------------------------------------

def _clean_name(name: str) -> str:
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 128:
        raise InvalidParameterValue("Name must be 1 to 128 characters.", field="Name")
    return name.strip()


def http_api_create(account: Account, name: str, *, description: str = "", cors: dict | None = None) -> HttpApi:
    return HttpApi.objects.create(account=account, name=_clean_name(name), description=description or "",
                                  cors=validate_cors(cors))


def http_api_get(account: Account, api_id: str) -> HttpApi:
    """The account's API; another account's does not exist."""
    api = HttpApi.objects.filter(account=account, api_id=api_id).first()
    if api is None:
        raise ResourceNotFound(f"Invalid API identifier specified {account.account_id}:{api_id}", field="ApiId")
    return api


def http_apis_list(account: Account) -> list[HttpApi]:
    return list(HttpApi.objects.filter(account=account))


def http_api_delete(api: HttpApi) -> None:
    api.delete()


def http_api_for_id(api_id: str) -> HttpApi | None:
    """The API with this id and its account (the serving path)."""
    return HttpApi.objects.select_related("account").filter(api_id=api_id).first()


# --- Routes ----------------------------------------------------------------------------------

def _check_target(api: HttpApi, function: Function, qualifier: str) -> str:
    if function.account_id != api.account_id:
        raise ResourceNotFound(f"Function not found: {function.name}", field="Target")
    if is_latest(qualifier):
        return ""
    if not (version_exists(function, qualifier) if is_version(qualifier) else alias_exists(function, qualifier)):
        raise ResourceNotFound(f"Function not found: {function.arn}:{qualifier}", field="Target")
    return qualifier


def _check_collision(api: HttpApi, key: RouteKey, route_key: str, exclude: int | None = None) -> None:
    for other in api.routes.exclude(pk=exclude):
        if parse_route_key(other.route_key).shape() == key.shape():
            raise ResourceConflict(f"Unable to create route {route_key}: the route {other.route_key} "
                                   f"already exists in this API and would match the same requests.",
                                   field="RouteKey")


@transaction.atomic
def http_route_create(api: HttpApi, route_key: str, function: Function, *, qualifier: str = "") -> HttpRoute:
    key = parse_route_key(route_key)
    qualifier = _check_target(api, function, qualifier)
    _check_collision(api, key, route_key)
    try:
        with transaction.atomic():
            return HttpRoute.objects.create(api=api, route_key=route_key, function=function, qualifier=qualifier)
    except IntegrityError:
        raise ResourceConflict(f"Route {route_key} already exists in this API.", field="RouteKey")


@transaction.atomic
def http_route_update(route: HttpRoute, *, route_key: str | None = None, function: Function | None = None,
                      qualifier: str | None = None) -> HttpRoute:
    if route_key is not None:
        _check_collision(route.api, parse_route_key(route_key), route_key, exclude=route.pk)
        route.route_key = route_key
    if function is not None or qualifier is not None:
        route.function = function or route.function
        route.qualifier = _check_target(route.api, route.function, qualifier if qualifier is not None
                                        else route.qualifier)
    route.save()
    return route


def http_route_get(api: HttpApi, route_id: str) -> HttpRoute:
    route = api.routes.filter(route_id=route_id).first()
    if route is None:
        raise ResourceNotFound(f"Invalid Route identifier specified {route_id}", field="RouteId")
    return route


def http_routes_of_function(function: Function) -> list[HttpRoute]:
    """The routes that invoke a function: its HTTP API triggers."""
    return list(HttpRoute.objects.filter(function=function).select_related("api"))


def http_route_delete(route: HttpRoute) -> None:
    route.delete()
