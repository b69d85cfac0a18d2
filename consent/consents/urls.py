"""URLs of separate consents and legal bases (CON-4, CON-6). config/urls_tenants.py mounts them
through consent.urls: console_patterns under /console/, me_patterns under /me/, api_patterns
under /api/v1/."""

from django.urls import path

from consent.consents import apis, views

me_patterns = [
    path("consents/", views.MeConsentsView.as_view(), name="me_consents"),
    path("consents/<int:record_id>/withdraw/", views.MeConsentWithdrawView.as_view(), name="me_consent_withdraw"),
]
console_patterns = [
    path("consents/", views.ConsentOverviewView.as_view(), name="console_consents"),
    path("consents/<int:member_id>/", views.MemberConsentsView.as_view(), name="console_member_consents"),
    path("consents/legal-bases/<int:pk>/end/", views.LegalBasisEndView.as_view(), name="console_legal_basis_end"),
]
api_patterns = [
    path("me/consents/", apis.MyConsentsApi.as_view(), name="api_me_consents"),
    path(
        "me/consents/<int:record_id>/withdrawal/",
        apis.MyConsentWithdrawalApi.as_view(),
        name="api_me_consent_withdrawal",
    ),
    path("consents/", apis.MemberConsentsApi.as_view(), name="api_consents"),
    path("consents/legal-bases/", apis.LegalBasisRecordApi.as_view(), name="api_legal_bases"),
    path("consents/legal-bases/<int:pk>/end/", apis.LegalBasisEndApi.as_view(), name="api_legal_basis_end"),
]
