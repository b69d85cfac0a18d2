"""Members' notice and consent pages (CON-3, CON-4, CON-6) on an enterprise host.

`open_patterns`: /notice/… (readable before joining: the invitation pages link to it);
`me_patterns`: /me/notice/…, /me/consents/…; `api_patterns` (under /api/v1/): me/notice/…,
me/consents/…. Mounted by config/urls_tenants.py."""

from django.urls import path

from consent import apis_me, views_me

open_patterns: list = [
    path("notice/", views_me.NoticeView.as_view(), name="notice_current"),
    path("notice/<int:version>/", views_me.NoticeView.as_view(), name="notice_version"),
]
me_patterns: list = [
    path("notice/", views_me.MeNoticeView.as_view(), name="me_notice"),
    path("consents/", views_me.MeConsentsView.as_view(), name="me_consents"),
    path("consents/<int:record_id>/withdraw/", views_me.MeConsentWithdrawView.as_view(), name="me_consent_withdraw"),
]
api_patterns: list = [
    path("me/notice/", apis_me.MyNoticeApi.as_view(), name="api_me_notice"),
    path("me/notice/acknowledge/", apis_me.MyNoticeAcknowledgeApi.as_view(), name="api_me_notice_acknowledge"),
    path("me/consents/", apis_me.MyConsentsApi.as_view(), name="api_me_consents"),
    path("me/consents/<int:record_id>/withdrawal/", apis_me.MyConsentWithdrawalApi.as_view(),
         name="api_me_consent_withdrawal"),
]
