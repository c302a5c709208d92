from django.urls import path

from shop.funding import views, views_sell

app_name = "funding"

urlpatterns = [
    path("campaigns/<int:campaign>/", views.campaign, name="campaign"),
    path("campaigns/card/test/<uuid:pledge>/", views.test_card, name="test_card"),
    path("campaigns/card/return/", views.setup_return, name="setup_return"),
    path("pledges/<str:token>/", views.pledge, name="pledge"),
    path("sell/campaigns/", views_sell.campaigns, name="sell_campaigns"),
    path("sell/campaigns/new/", views_sell.campaign_form, name="sell_campaign_new"),
    path("sell/campaigns/<int:campaign>/", views_sell.campaign_detail, name="sell_campaign"),
    path(
        "sell/campaigns/<int:campaign>/edit/", views_sell.campaign_form, name="sell_campaign_edit"
    ),
]
