"""AWS's paths of the Lambda API, each answering its HTTP methods with one operation."""
from __future__ import annotations

from django.urls import path, re_path

from . import (account, aliases, concurrency, event_invoke, function_urls, functions, invoke, permissions, recursion,
               tags, versions)
from .base import operations
from .unknown import not_an_operation

fn = r"(?P<name>[^/]+)"
v1 = "2015-03-31/functions"

urlpatterns = [
    re_path(rf"^{v1}/?$", operations(GET=functions.list_functions, POST=functions.create_function)),
    re_path(rf"^{v1}/{fn}$", operations(GET=functions.get_function, DELETE=functions.delete_function)),
    re_path(rf"^{v1}/{fn}/configuration$", operations(GET=functions.get_function_configuration,
                                                       PUT=functions.update_function_configuration)),
    re_path(rf"^{v1}/{fn}/code$", operations(PUT=functions.update_function_code)),
    re_path(rf"^{v1}/{fn}/invocations$", operations(POST=invoke.invoke)),
    re_path(rf"^{v1}/{fn}/policy$", operations(GET=permissions.get_policy, POST=permissions.add_permission)),
    re_path(rf"^{v1}/{fn}/policy/(?P<sid>[^/]+)$", operations(DELETE=permissions.remove_permission)),
    re_path(rf"^{v1}/{fn}/versions$", operations(GET=versions.list_versions, POST=versions.publish_version)),
    re_path(rf"^{v1}/{fn}/aliases$", operations(GET=aliases.list_aliases, POST=aliases.create_alias)),
    re_path(rf"^{v1}/{fn}/aliases/(?P<alias>[^/]+)$", operations(
        GET=aliases.get_alias, PUT=aliases.update_alias, DELETE=aliases.delete_alias)),
    re_path(rf"^2017-10-31/functions/{fn}/concurrency$", operations(
        PUT=concurrency.put_concurrency, DELETE=concurrency.delete_concurrency)),
    re_path(rf"^2019-09-30/functions/{fn}/concurrency$", operations(GET=concurrency.get_concurrency)),
    re_path(r"^2017-03-31/tags/(?P<arn>[^/]+)$", operations(
        GET=tags.list_tags, POST=tags.tag_resource, DELETE=tags.untag_resource)),
    re_path(rf"^2021-10-31/functions/{fn}/url$", operations(
        POST=function_urls.create_function_url_config, GET=function_urls.get_function_url_config,
        PUT=function_urls.update_function_url_config, DELETE=function_urls.delete_function_url_config)),
    re_path(rf"^2021-10-31/functions/{fn}/urls$", operations(GET=function_urls.list_function_url_configs)),
    re_path(rf"^2019-09-25/functions/{fn}/event-invoke-config$", operations(
        PUT=event_invoke.put_function_event_invoke_config, POST=event_invoke.update_function_event_invoke_config,
        GET=event_invoke.get_function_event_invoke_config,
        DELETE=event_invoke.delete_function_event_invoke_config)),
    re_path(rf"^2019-09-25/functions/{fn}/event-invoke-config/list$", operations(
        GET=event_invoke.list_function_event_invoke_configs)),
    re_path(rf"^2024-08-31/functions/{fn}/recursion-config$", operations(
        GET=recursion.get_function_recursion_config, PUT=recursion.put_function_recursion_config)),
    re_path(r"^2016-08-19/account-settings/?$", operations(GET=account.get_account_settings)),
    # Not signed with SigV4: a plain download authorised by its token, like a presigned URL.
    path("api/code/<str:token>", functions.code_download, name="api-code"),
    # Anything else under the API's prefixes is answered in AWS's error shape, not with a page.
    re_path(r"^20\d\d-\d\d-\d\d/(?P<rest>.*)$", operations(
        GET=not_an_operation, POST=not_an_operation, PUT=not_an_operation, DELETE=not_an_operation)),
]
