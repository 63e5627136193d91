-- Notes the knowledge base starts with (ingested into RAG before the research begins), so a
-- first run already finds related knowledge and later runs add their own summaries.
return {
    {title = "Cherry blossom season", content = "In Japan the cherry blossom (sakura) season runs from late March in Tokyo and Kyoto to early May in Hokkaido. Parks such as Ueno, Maruyama and Hirosaki Castle are crowded at the peak; booking hotels months ahead is wise."},
    {title = "Japan Rail Pass", content = "The Japan Rail Pass gives foreign tourists unlimited travel on most JR trains, including most shinkansen, for 7, 14 or 21 days. It pays off for a Tokyo-Kyoto-Osaka-Hiroshima round trip."},
    {title = "Sleep hygiene basics", content = "Regular sleep and wake times, a dark and cool bedroom, no screens in the hour before bed and limiting caffeine after noon are the best-supported habits for better sleep."},
    {title = "Family electric vehicles", content = "Family electric cars under $40,000 include compact SUVs with 400 to 500 km of range; check the boot space, the charging speed (kW) and the local incentives before choosing."},
    {title = "Learning web development for free", content = "Free web development curricula such as freeCodeCamp and The Odin Project cover HTML, CSS, JavaScript and a back-end framework with projects to build a portfolio."},
}
