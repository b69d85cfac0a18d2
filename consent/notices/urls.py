"""URLs of the enterprise notice (CON-3). config/urls_tenants.py mounts them through consent.urls:
console_patterns under /console/, me_patterns under /me/, api_patterns under /api/v1/ and
open_patterns at the root (the notice is open to anyone on the enterprise host)."""

from django.urls import path

from consent.notices import apis, views

open_patterns = [
    path("notice/", views.NoticeView.as_view(), name="notice_current"),
    path("notice/<int:version>/", views.NoticeView.as_view(), name="notice_version"),
]
me_patterns = [
    path("notice/", views.MeNoticeView.as_view(), name="me_notice"),
]
console_patterns = [
    path("notices/", views.NoticeListView.as_view(), name="console_notices"),
    path("notices/draft/", views.NoticeDraftView.as_view(), name="console_notice_draft"),
    path("notices/draft/publish/", views.NoticePublishView.as_view(), name="console_notice_publish"),
    path("notices/draft/discard/", views.NoticeDiscardView.as_view(), name="console_notice_discard"),
    path("notices/<int:version>/", views.NoticeVersionView.as_view(), name="console_notice_version"),
]
api_patterns = [
    path("me/notice/", apis.MyNoticeApi.as_view(), name="api_me_notice"),
    path("me/notice/acknowledge/", apis.MyNoticeAcknowledgeApi.as_view(), name="api_me_notice_acknowledge"),
    path("notices/", apis.NoticeListApi.as_view(), name="api_notices"),
    path("notices/<int:version>/", apis.NoticeApi.as_view(), name="api_notice"),
]
