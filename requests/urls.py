"""Routes of data-subject requests (DSR-1, DSR-3, DSR-4).

config/urls_tenants.py mounts `me_patterns` under /me/, `console_patterns` under /console/ and
`api_patterns` under /api/v1/; config/urls_public.py includes `public_patterns` (/account/…)."""

from django.urls import path

from requests.account_deletion import apis as apis_account_deletion
from requests.account_deletion import views as views_account_deletion
from requests.account_export import views as views_account_export
from requests.correction import views as views_correction
from requests.data import apis as apis_data
from requests.data import views as views_data
from requests.export import apis as apis_export
from requests.export import views as views_export
from requests.workflow import apis, views

me_patterns = [
    path("data/", views_data.MeDataView.as_view(), name="me_data"),  # DSR-2
    path("data/<int:pk>/show/<str:field>/", views_data.MeDataRevealView.as_view(), name="me_data_reveal"),
    path("profile/", views_correction.MeProfileView.as_view(), name="me_profile"),  # DSR-3
    path("profile/correction/", views_correction.MeCorrectionView.as_view(), name="me_correction"),
    path("requests/", views.MeRequestListView.as_view(), name="me_requests"),
    path("requests/<int:pk>/", views.MeRequestDetailView.as_view(), name="me_request"),
    path("export/", views_export.MeExportView.as_view(), name="me_export"),  # DSR-2, DSR-7
    path("export/<int:pk>/status/", views_export.MeExportStatusView.as_view(), name="me_export_status"),
    path(
        "export/<int:pk>/download/<str:token>/", views_export.MeExportDownloadView.as_view(), name="me_export_download"
    ),
]
console_patterns = [
    path("requests/", views.ConsoleRequestListView.as_view(), name="console_requests"),
    path("requests/<int:pk>/", views.ConsoleRequestDetailView.as_view(), name="console_request"),
]
api_patterns = [
    path("me/data/", apis_data.MyDataApi.as_view(), name="api_me_data"),  # DSR-2
    path("me/account/", apis_data.MyAccountApi.as_view(), name="api_me_account"),
    path("me/account/corrections/", apis_data.MyAccountCorrectionsApi.as_view(), name="api_me_account_corrections"),
    path("me/profile/", apis_data.MyProfileApi.as_view(), name="api_me_profile"),  # DSR-3
    path("me/profile/corrections/", apis_data.MyProfileCorrectionsApi.as_view(), name="api_me_profile_corrections"),
    path("me/exports/", apis_export.MyExportsApi.as_view(), name="api_me_exports"),
    path("me/exports/<int:pk>/", apis_export.MyExportApi.as_view(), name="api_me_export"),
    path("me/requests/", apis.MyRequestsApi.as_view(), name="api_me_requests"),
    path("me/requests/<int:pk>/", apis.MyRequestApi.as_view(), name="api_me_request"),
    path("me/requests/<int:pk>/cancel/", apis.MyRequestCancelApi.as_view(), name="api_me_request_cancel"),
    path(
        "me/requests/<int:pk>/information/", apis.MyRequestInformationApi.as_view(), name="api_me_request_information"
    ),
    path("requests/", apis.RequestQueueApi.as_view(), name="api_requests"),
    path("requests/<int:pk>/", apis.RequestDetailApi.as_view(), name="api_request"),
    path("requests/<int:pk>/decide/", apis.RequestDecideApi.as_view(), name="api_request_decide"),
    # DSR-6 (the account's deletion, reachable from any of its enterprises' hosts)
    path("me/account-deletion/", apis_account_deletion.MyAccountDeletionApi.as_view(), name="api_me_account_deletion"),
    path(
        "me/account-deletion/code/",
        apis_account_deletion.MyAccountDeletionCodeApi.as_view(),
        name="api_me_account_deletion_code",
    ),
    path(
        "me/account-deletion/cancel/",
        apis_account_deletion.MyAccountDeletionCancelApi.as_view(),
        name="api_me_account_deletion_cancel",
    ),
]
public_patterns = [
    path("account/data/", views_data.AccountDataView.as_view(), name="account_data"),  # DSR-2
    path(
        "account/profile/correction/", views_correction.AccountCorrectionView.as_view(), name="account_correction"
    ),  # DSR-3
    path("account/requests/", views.AccountRequestListView.as_view(), name="account_requests"),
    path("account/requests/<int:pk>/", views.AccountRequestDetailView.as_view(), name="account_request"),
    path("account/delete/", views_account_deletion.AccountDeletionView.as_view(), name="account_delete"),  # DSR-6
    path("account/export/", views_account_export.AccountExportView.as_view(), name="account_export"),  # DSR-2
    path(
        "account/export/<int:pk>/status/",
        views_account_export.AccountExportStatusView.as_view(),
        name="account_export_status",
    ),
    path(
        "account/export/<int:pk>/download/",
        views_account_export.AccountExportDownloadView.as_view(),
        name="account_export_download",
    ),
]
