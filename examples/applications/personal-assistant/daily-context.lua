-- Today's context for personal-assistant: tasks, calendar, notes and preferences.
return {
    tasks = {
        {task = "Review quarterly report", priority = "high", category = "work", deadline = "today"},
        {task = "Schedule dentist appointment", priority = "medium", category = "health", deadline = "this week"},
        {task = "Complete Python course module", priority = "medium", category = "learning", deadline = "tomorrow"},
        {task = "Pay utility bills", priority = "urgent", category = "finance", deadline = "today"},
        {task = "Plan weekend trip", priority = "low", category = "personal", deadline = "next week"},
    },
    schedule = {
        {time = "09:00", event = "Team standup", minutes = 30},
        {time = "10:00", event = "Deep work block", minutes = 120},
        {time = "14:00", event = "Client presentation", minutes = 60},
        {time = "16:00", event = "Email and admin", minutes = 60},
    },
    notes = {
        "Follow up on the Johnson proposal before Friday.",
        "Check travel insurance options for the weekend trip.",
        "The Python course module 4 covers decorators and generators.",
    },
    preferences = {work_hours = "09:00-18:00", breaks = "every 2 hours", style = "professional but friendly"},
    questions = {
        "What are my urgent tasks for today?",
        "When is my next free time slot?",
        "What learning tasks do I have pending?",
    },
    message = {kind = "email", recipient = "the team", purpose = "follow up on the quarterly report review"},
}
