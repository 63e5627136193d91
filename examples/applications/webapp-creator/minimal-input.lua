-- The smallest input webapp-creator accepts: a name, the requirements and one entity.
return {
    project = {name = "SimpleTodo", description = "A basic todo list", version = "0.1.0"},
    requirements = "A todo list where users add tasks, mark them complete and delete them.",
    entities = {{name = "todo", fields = {{"title", "text"}, {"done", "boolean"}}}},
}
