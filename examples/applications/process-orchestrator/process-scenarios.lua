-- The requests process-orchestrator routes (`-- --scenarios N` takes the first N).
return {
    {id = "approval-1", type = "approval", priority = "high", amount = 12000,
     request = "Purchase request: 12 laptops for the new support team, $12,000, vendor quote attached, needed by the 15th."},
    {id = "migration-1", type = "migration", priority = "medium",
     request = "Migrate the customer database (2.1M rows) from MySQL 5.7 to PostgreSQL 15 with under one hour of downtime."},
    {id = "qa-1", type = "qa", priority = "medium",
     request = "Release 4.2 of the billing service needs its quality gate: 312 tests, 2 flaky, coverage 81%."},
    {id = "incident-1", type = "incident", priority = "critical", severity = "critical",
     request = "Payments API returns HTTP 500 for 40% of requests since 09:12; checkout is failing for customers."},
}
