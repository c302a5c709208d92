from django.urls import path

from catalog.seo import views

app_name = "seo"

urlpatterns = [
    path("robots.txt", views.robots_txt, name="robots"),
    path("sitemap.xml", views.sitemap_index, name="sitemap"),
    path("sitemap-<slug:section>.xml", views.sitemap_section, name="sitemap_section"),
    path("feeds/shop.atom", views.feed_shop, name="feed_shop"),
    path("feeds/@<slug:seller>.atom", views.feed_seller, name="feed_seller"),
    path("feeds/tags/<str:tag>.atom", views.feed_tag, name="feed_tag"),
    path("embed/@<slug:seller>/<slug:product>/", views.embed, name="embed"),
    path("oembed", views.oembed, name="oembed"),
]
