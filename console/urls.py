from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from .views import (auth, code, configuration, credentials, functions, logs, monitor, permissions, testing, triggers,
                    versions)


def health(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


fn = "functions/<str:name>"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("console.api.urls")),
    path("", include("console.iam.urls")),
    path("", include("console.s3.urls")),
    path("health", health, name="health"),
    path("login", auth.login, name="login"),
    path("logout", auth.logout, name="logout"),
    path("", functions.function_list, name="functions"),
    path("security-credentials", credentials.credentials_page, name="credentials"),
    path("security-credentials/create", credentials.access_key_create_view, name="access-key-create"),
    path("security-credentials/<str:access_key_id>/update", credentials.access_key_update_view,
         name="access-key-update"),
    path("security-credentials/<str:access_key_id>/delete", credentials.access_key_delete_view,
         name="access-key-delete"),
    path("functions/create", functions.function_create, name="function-create"),
    path("http-apis", triggers.http_apis_page, name="http-apis"),
    path("http-apis/<str:api_id>/delete", triggers.http_api_delete_view, name="http-api-delete"),
    path("http-apis/<str:api_id>/routes/<str:route_id>/delete", triggers.http_api_route_delete_view,
         name="http-api-route-delete"),
    path(f"{fn}/triggers/add", triggers.trigger_add, name="function-trigger-add"),
    path(f"{fn}/triggers/rules/<str:rule>/state", triggers.schedule_rule_state, name="function-rule-state"),
    path(f"{fn}/triggers/rules/<str:rule>/delete", triggers.schedule_rule_delete_view, name="function-rule-delete"),
    path(f"{fn}/triggers/routes/<str:api_id>/<str:route_id>/delete", triggers.http_route_delete_view,
         name="function-route-delete"),
    path(f"{fn}/triggers/s3/<str:bucket>/delete", triggers.s3_trigger_delete_view, name="function-s3-trigger-delete"),
    path(f"{fn}/destinations/add", triggers.destination_add, name="function-destination-add"),
    path(f"{fn}/async/edit", triggers.async_config_edit, name="function-async-edit"),
    path(f"{fn}/url/edit", triggers.function_url_edit, name="function-url-edit"),
    path(f"{fn}/url/delete", triggers.function_url_delete_view, name="function-url-delete"),
    path(f"{fn}", code.code_tab, name="function"),
    path(f"{fn}/delete", functions.function_delete_view, name="function-delete"),
    path(f"{fn}/code/files", code.code_files, name="function-code-files"),
    path(f"{fn}/code/deploy", code.code_deploy, name="function-code-deploy"),
    path(f"{fn}/code/upload", code.code_upload, name="function-code-upload"),
    path(f"{fn}/code/download", code.code_download, name="function-code-download"),
    path(f"{fn}/runtime-settings", code.runtime_settings, name="function-runtime-settings"),
    path(f"{fn}/test", testing.test_tab, name="function-test"),
    path(f"{fn}/test/invoke", testing.test_invoke, name="function-invoke"),
    path(f"{fn}/test/events/<str:event>/delete", testing.test_event_delete_view, name="function-test-event-delete"),
    path(f"{fn}/monitor", monitor.monitor_tab, name="function-monitor"),
    path(f"{fn}/monitor/metrics", monitor.monitor_metrics, name="function-metrics"),
    path(f"{fn}/logs", logs.logs_page, name="function-logs"),
    path(f"{fn}/configuration", configuration.configuration_tab, name="function-configuration"),
    path(f"{fn}/role/edit", permissions.execution_role_edit, name="function-role-edit"),
    path(f"{fn}/configuration/<str:section>", configuration.configuration_update, name="function-configuration-update"),
    path(f"{fn}/versions", versions.versions_tab, name="function-versions"),
    path(f"{fn}/aliases", versions.aliases_tab, name="function-aliases"),
    path(f"{fn}/aliases/<str:alias>/edit", versions.alias_edit, name="function-alias-edit"),
    path(f"{fn}/aliases/<str:alias>/delete", versions.alias_delete_view, name="function-alias-delete"),
]
