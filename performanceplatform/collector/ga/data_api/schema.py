"""The GA4 Data API's own field names: what `runReport` and `runRealtimeReport` accept.

Gathered from Google's API schema pages (developers.google.com/analytics/devguides/reporting/
data/v1/api-schema and realtime-api-schema) as peers list them (singer-io/tap-ga4's field table).
A query naming a field outside these lists is refused before any request: a typo should be a
usage error naming the key, not a 400 from Google after the first periods were collected.

Property-specific fields follow fixed patterns (`customEvent:<parameter>`, `keyEvents:<event>`,
...) and are accepted by pattern; whether the property defines them only Google can say.
"""

from __future__ import annotations

import re


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


DIMENSIONS = _names(
    """
    achievementId adFormat adSourceName adUnitName appVersion audienceId audienceName
    audienceResourceName brandingInterest browser campaignId campaignName character city cityId
    cohort cohortNthDay cohortNthMonth cohortNthWeek contentGroup contentId contentType continent
    continentId country countryId date dateHour dateHourMinute day dayOfWeek dayOfWeekName
    defaultChannelGroup deviceCategory deviceModel eventName fileExtension fileName
    firstSessionDate firstUserCampaignId firstUserCampaignName firstUserDefaultChannelGroup
    firstUserGoogleAdsAccountName firstUserGoogleAdsAdGroupId firstUserGoogleAdsAdGroupName
    firstUserGoogleAdsAdNetworkType firstUserGoogleAdsCampaignId firstUserGoogleAdsCampaignName
    firstUserGoogleAdsCampaignType firstUserGoogleAdsCreativeId firstUserGoogleAdsCustomerId
    firstUserGoogleAdsKeyword firstUserGoogleAdsQuery firstUserManualAdContent firstUserManualTerm
    firstUserMedium firstUserSource firstUserSourceMedium firstUserSourcePlatform fullPageUrl
    googleAdsAccountName googleAdsAdGroupId googleAdsAdGroupName googleAdsAdNetworkType
    googleAdsCampaignId googleAdsCampaignName googleAdsCampaignType googleAdsCreativeId
    googleAdsCustomerId googleAdsKeyword googleAdsQuery groupId hostName hour isConversionEvent
    isKeyEvent isoWeek isoYear isoYearIsoWeek itemAffiliation itemBrand itemCategory itemCategory2
    itemCategory3 itemCategory4 itemCategory5 itemId itemListId itemListName itemListPosition
    itemLocationID itemName itemPromotionCreativeName itemPromotionCreativeSlot itemPromotionId
    itemPromotionName itemVariant landingPage landingPagePlusQueryString language languageCode
    level linkClasses linkDomain linkId linkText linkUrl manualAdContent manualTerm medium method
    minute mobileDeviceBranding mobileDeviceMarketingName mobileDeviceModel month newVsReturning
    nthDay nthHour nthMinute nthMonth nthWeek nthYear operatingSystem operatingSystemVersion
    operatingSystemWithVersion orderCoupon outbound pageLocation pagePath pagePathPlusQueryString
    pageReferrer pageTitle percentScrolled platform platformDeviceCategory region
    screenResolution searchTerm sessionCampaignId sessionCampaignName sessionDefaultChannelGroup
    sessionGoogleAdsAccountName sessionGoogleAdsAdGroupId sessionGoogleAdsAdGroupName
    sessionGoogleAdsAdNetworkType sessionGoogleAdsCampaignId sessionGoogleAdsCampaignName
    sessionGoogleAdsCampaignType sessionGoogleAdsCreativeId sessionGoogleAdsCustomerId
    sessionGoogleAdsKeyword sessionGoogleAdsQuery sessionManualAdContent sessionManualTerm
    sessionMedium sessionSa360AdGroupName sessionSa360CampaignId sessionSa360CampaignName
    sessionSa360CreativeFormat sessionSa360EngineAccountId sessionSa360EngineAccountName
    sessionSa360EngineAccountType sessionSa360Keyword sessionSa360Medium sessionSa360Query
    sessionSa360Source sessionSource sessionSourceMedium sessionSourcePlatform shippingTier
    signedInWithUserId source sourceMedium sourcePlatform streamId streamName testDataFilterId
    testDataFilterName transactionId unifiedPagePathScreen unifiedPageScreen unifiedScreenClass
    unifiedScreenName userAgeBracket userGender videoProvider videoTitle videoUrl
    virtualCurrencyName visible week year yearMonth yearWeek
    """
)

METRICS = _names(
    """
    active1DayUsers active28DayUsers active7DayUsers activeUsers adUnitExposure addToCarts
    advertiserAdClicks advertiserAdCost advertiserAdCostPerClick advertiserAdCostPerConversion
    advertiserAdCostPerKeyEvent advertiserAdImpressions averagePurchaseRevenue
    averagePurchaseRevenuePerPayingUser averagePurchaseRevenuePerUser averageRevenuePerUser
    averageSessionDuration bounceRate cartToViewRate checkouts cohortActiveUsers cohortTotalUsers
    conversions crashAffectedUsers crashFreeUsersRate dauPerMau dauPerWau ecommercePurchases
    engagedSessions engagementRate eventCount eventCountPerUser eventValue eventsPerSession
    firstTimePurchaserConversionRate firstTimePurchaserRate firstTimePurchasers
    firstTimePurchasersPerNewUser grossItemRevenue grossPurchaseRevenue itemDiscountAmount
    itemListClickEvents itemListClickThroughRate itemListViewEvents itemPromotionClickThroughRate
    itemRefundAmount itemRevenue itemViewEvents itemsAddedToCart itemsCheckedOut
    itemsClickedInList itemsClickedInPromotion itemsPurchased itemsViewed itemsViewedInList
    itemsViewedInPromotion keyEvents newUsers organicGoogleSearchAveragePosition
    organicGoogleSearchClickThroughRate organicGoogleSearchClicks organicGoogleSearchImpressions
    promotionClicks promotionViews publisherAdClicks publisherAdImpressions purchaseRevenue
    purchaseToViewRate purchaserConversionRate purchaserRate refundAmount returnOnAdSpend
    screenPageViews screenPageViewsPerSession screenPageViewsPerUser scrolledUsers
    sessionConversionRate sessionKeyEventRate sessions sessionsPerUser shippingAmount taxAmount
    totalAdRevenue totalPurchasers totalRevenue totalUsers transactions transactionsPerPurchaser
    userConversionRate userEngagementDuration userKeyEventRate wauPerMau
    """
)

# runRealtimeReport accepts far fewer fields (realtime-api-schema); notably no page path.
REALTIME_DIMENSIONS = _names(
    """
    appVersion audienceId audienceName audienceResourceName city cityId country countryId
    deviceCategory eventName minutesAgo platform streamId streamName unifiedScreenName
    """
)
REALTIME_METRICS = _names("activeUsers eventCount keyEvents screenPageViews")

# Property-specific names: custom definitions and per-event key-event metrics.
CUSTOM_DIMENSION = re.compile(r"(customEvent|customUser|customItem):\w+")
CUSTOM_METRIC = re.compile(
    r"(customEvent|averageCustomEvent|countCustomEvent|conversions|keyEvents|sessionConversionRate"
    r"|sessionKeyEventRate|userConversionRate|userKeyEventRate):\w+"
)
REALTIME_CUSTOM_DIMENSION = re.compile(r"customUser:\w+")

# The dimension GA4 adds to every row when a request has several date ranges.
DATE_RANGE = "dateRange"


def is_dimension(name: str, *, realtime: bool = False) -> bool:
    if realtime:
        return name in REALTIME_DIMENSIONS or bool(REALTIME_CUSTOM_DIMENSION.fullmatch(name))
    return name in DIMENSIONS or bool(CUSTOM_DIMENSION.fullmatch(name))


def is_property_specific(name: str) -> bool:
    """Whether only the property can say it has `name` (a custom definition, a key event's metric)."""
    return bool(CUSTOM_DIMENSION.fullmatch(name) or CUSTOM_METRIC.fullmatch(name))


def is_metric(name: str, *, realtime: bool = False) -> bool:
    if realtime:
        return name in REALTIME_METRICS
    return name in METRICS or bool(CUSTOM_METRIC.fullmatch(name))
