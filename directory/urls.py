"""URLs of the directory and org structure (ENT-1, ENT-2, ENT-8, ENT-9)."""

from django.urls import path

from directory import apis, org_views, views
from directory.imports import views as imports

console_patterns = [
    path("members/", views.MemberListView.as_view(), name="console_members"),
    path("members/new/", views.MemberCreateView.as_view(), name="console_member_new"),
    path("members/bulk/", views.MemberBulkView.as_view(), name="console_members_bulk"),
    path("members/export/", views.MemberExportView.as_view(), name="console_members_export"),
    # issue 16 §5: import from Excel/CSV (directory/imports/)
    path("members/import/", imports.ImportView.as_view(), name="console_member_import"),
    path("members/import/template/", imports.ImportTemplateView.as_view(), name="console_member_import_template"),
    path("members/import/confirm/", imports.ImportConfirmView.as_view(), name="console_member_import_confirm"),
    path("members/import/<int:pk>/", imports.ImportJobView.as_view(), name="console_member_import_job"),
    path("members/<int:pk>/", views.MemberDetailView.as_view(), name="console_member"),
    path("members/<int:pk>/edit/", views.MemberEditView.as_view(), name="console_member_edit"),
    path("members/<int:pk>/photo/", views.MemberPhotoView.as_view(), name="console_member_photo"),
    path("members/<int:pk>/reveal/<str:field>/", views.MemberRevealView.as_view(), name="console_member_reveal"),
    path("members/<int:pk>/scopes/", views.ScopeGrantView.as_view(), name="console_member_scopes"),
    # the org editor (issue 16 §6): three tabs, one small page per change
    path("org/", org_views.OrgView.as_view(), name="console_org"),
    path("org/positions/", org_views.PositionListView.as_view(), name="console_org_positions"),
    path("org/ranks/", org_views.RankListView.as_view(), name="console_org_ranks"),
    path("org/departments/new/", org_views.DepartmentCreateView.as_view(), name="console_org_department_new"),
    path(
        "org/departments/<int:pk>/rename/",
        org_views.DepartmentRenameView.as_view(),
        name="console_org_department_rename",
    ),
    path("org/departments/<int:pk>/move/", org_views.DepartmentMoveView.as_view(), name="console_org_department_move"),
    path(
        "org/departments/<int:pk>/delete/",
        org_views.DepartmentDeleteView.as_view(),
        name="console_org_department_delete",
    ),
    path("org/positions/new/", org_views.PositionCreateView.as_view(), name="console_org_position_new"),
    path("org/positions/<int:pk>/edit/", org_views.PositionEditView.as_view(), name="console_org_position_edit"),
    path("org/positions/<int:pk>/delete/", org_views.PositionDeleteView.as_view(), name="console_org_position_delete"),
    path("org/ranks/new/", org_views.RankCreateView.as_view(), name="console_org_rank_new"),
    path("org/ranks/<int:pk>/edit/", org_views.RankEditView.as_view(), name="console_org_rank_edit"),
    path("org/ranks/<int:pk>/delete/", org_views.RankDeleteView.as_view(), name="console_org_rank_delete"),
]
me_patterns: list = []
api_patterns = [
    path("members/", apis.MemberListApi.as_view(), name="api_members"),
    path("members/<int:pk>/", apis.MemberDetailApi.as_view(), name="api_member"),
    path("members/<int:pk>/reveal/", apis.MemberRevealApi.as_view(), name="api_member_reveal"),
    path("members/<int:pk>/scopes/", apis.MemberScopeApi.as_view(), name="api_member_scopes"),
    path("departments/", apis.DepartmentListApi.as_view(), name="api_departments"),
    path("departments/<int:pk>/", apis.DepartmentDetailApi.as_view(), name="api_department"),
    path("positions/", apis.PositionListApi.as_view(), name="api_positions"),
    path("ranks/", apis.RankListApi.as_view(), name="api_ranks"),
    # external-contact matching (ENT-7)
    path("contacts/salt/", apis.ContactSaltApi.as_view(), name="api_contacts_salt"),
    path("contacts/match/", apis.ContactMatchApi.as_view(), name="api_contacts_match"),
]
device_patterns: list = []
