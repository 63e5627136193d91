-- The inbox communication-manager works through (`-- --messages N` takes the first N).
return {
    {id = "msg-1", client = "techcorp", from = "Sarah Chen, CTO at TechCorp", kind_hint = "client inquiry",
     text = "Hi, I'm interested in your consulting services. Can we schedule a call to discuss our Q1 project? We have a $50K budget and need to start by February."},
    {id = "msg-2", client = "acme-ops", from = "David Kim, Operations Manager at Acme",
     kind_hint = "support escalation",
     text = "This is urgent and unacceptable: our production system is down for 500 customers, the third outage this month. Escalate immediately, our SLA is at risk."},
    {id = "msg-3", client = "brightpath", from = "Mike Rodriguez, Business Development at BrightPath",
     kind_hint = "partnership",
     text = "Hello! We'd love to explore a partnership: your AI tools would complement our customer success platform. Could we meet next week?"},
    {id = "msg-4", client = "internal", from = "Jennifer Wang, Project Manager", kind_hint = "internal coordination",
     text = "Team, please confirm your sections of Thursday's client presentation are ready: the deck, the demo and the pricing proposal all need review."},
}
