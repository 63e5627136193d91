-- What webapp-creator builds by default: a small team task tracker.
-- Other inputs: minimal-input.lua, user-input-ecommerce.lua (`-- --input FILE`).
return {
    project = {name = "TaskFlow", description = "A task tracker for small teams", version = "0.1.0"},
    requirements = [[
Build a web application where a small team can:
- create projects and add tasks to them
- assign tasks to members and set due dates
- move tasks through todo, doing and done
- comment on tasks
The interface must be simple, fast and usable on a phone.]],
    technical = {frontend = "React", backend = "Node.js with Express", database = "SQLite"},
    entities = {
        {name = "project", fields = {{"name", "text"}, {"description", "text"}, {"created_at", "datetime"}}},
        {name = "task", fields = {{"title", "text"}, {"status", "text"}, {"due_date", "date"}, {"project_id", "integer"}}},
        {name = "member", fields = {{"name", "text"}, {"email", "text"}}},
        {name = "comment", fields = {{"body", "text"}, {"task_id", "integer"}, {"member_id", "integer"}}},
    },
}
