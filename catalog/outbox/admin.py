from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from catalog.outbox.models import OutboxTask
from catalog.outbox.services import outbox_retry


@admin.register(OutboxTask)
class OutboxTaskAdmin(admin.ModelAdmin):
    list_display = ("key", "status", "attempts", "run_after", "created_at", "done_at")
    list_filter = ("status",)
    search_fields = ("key", "task_path", "request_id")
    ordering = ("-created_at",)
    actions = ("try_again",)
    readonly_fields = (
        "key",
        "task_path",
        "kwargs",
        "status",
        "attempts",
        "run_after",
        "last_error",
        "request_id",
        "created_at",
        "done_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Try the failed tasks again"))
    def try_again(self, request: HttpRequest, queryset: QuerySet[OutboxTask]) -> None:
        failed = list(queryset.filter(status=OutboxTask.Status.FAILED).values_list("pk", flat=True))
        for pk in failed:
            outbox_retry(outbox_id=pk)
        self.message_user(
            request,
            ngettext(
                "%(count)d task will be tried again by the next sweep.",
                "%(count)d tasks will be tried again by the next sweep.",
                len(failed),
            )
            % {"count": len(failed)},
            messages.SUCCESS,
        )
