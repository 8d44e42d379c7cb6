from django.urls import path

from worklist import views

app_name = "worklist"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<int:pk>/open/", views.notification_open, name="notification-open"),
    path("counts/", views.nav_counts, name="nav-counts"),
    path("review/", views.review, name="review"),
    path("review/<int:pk>/", views.county_review, name="county-review"),
    path("records/<int:pk>/comments/", views.record_comments, name="record-comments"),
    path("handovers/", views.handovers, name="handovers"),
    path("liaisons/", views.liaisons, name="liaisons"),
    path("audit/", views.audit, name="audit"),
]
