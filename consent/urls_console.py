"""Administrators' notice and consent pages (CON-3, CON-4): /console/notices/…,
/console/consents/… and, under /api/v1/, notices/… and consents/…. Mounted by
config/urls_tenants.py."""

from django.urls import path

from consent import apis_console as apis
from consent import views_console as views

console_patterns: list = [
    path("notices/", views.NoticeListView.as_view(), name="console_notices"),
    path("notices/draft/", views.NoticeDraftView.as_view(), name="console_notice_draft"),
    path("notices/draft/publish/", views.NoticePublishView.as_view(), name="console_notice_publish"),
    path("notices/draft/discard/", views.NoticeDiscardView.as_view(), name="console_notice_discard"),
    path("notices/<int:version>/", views.NoticeVersionView.as_view(), name="console_notice_version"),
    path("consents/", views.ConsentOverviewView.as_view(), name="console_consents"),
    path("consents/<int:member_id>/", views.MemberConsentsView.as_view(), name="console_member_consents"),
    path("consents/legal-bases/<int:pk>/end/", views.LegalBasisEndView.as_view(), name="console_legal_basis_end"),
]
api_patterns: list = [
    path("notices/", apis.NoticeListApi.as_view(), name="api_notices"),
    path("notices/<int:version>/", apis.NoticeApi.as_view(), name="api_notice"),
    path("consents/", apis.MemberConsentsApi.as_view(), name="api_consents"),
    path("consents/legal-bases/", apis.LegalBasisRecordApi.as_view(), name="api_legal_bases"),
    path("consents/legal-bases/<int:pk>/end/", apis.LegalBasisEndApi.as_view(), name="api_legal_basis_end"),
]
