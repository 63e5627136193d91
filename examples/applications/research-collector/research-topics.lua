-- Research scenarios research-collector can take (`-- --scenario NAME`, or `-- --topic "..."`).
return {
    vacation = "Best places to visit in Japan for first-time tourists in spring",
    health = "Natural remedies for better sleep and managing stress",
    shopping = "Compare electric vehicles under $40,000 for families",
    education = "Free online courses for learning web development",
}
