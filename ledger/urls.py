"""URLs of the instruction ledger (ENT-10)."""

from django.urls import path

from ledger import apis, views

console_patterns = [
    path("ledger/", views.LedgerListView.as_view(), name="console_ledger"),
    path("ledger/export/", views.LedgerExportView.as_view(), name="console_ledger_export"),
    path("ledger/verify/", views.LedgerVerifyView.as_view(), name="console_ledger_verify"),
]
me_patterns: list = []
api_patterns = [
    path("ledger/", apis.LedgerListApi.as_view(), name="api_ledger"),
    path("ledger/export/", apis.LedgerExportApi.as_view(), name="api_ledger_export"),
    path("ledger/verify/", apis.LedgerVerifyApi.as_view(), name="api_ledger_verify"),
]
device_patterns: list = []
